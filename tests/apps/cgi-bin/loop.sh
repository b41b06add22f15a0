#!/bin/sh
# A local redirect to itself: the server must give up, not loop forever.
printf 'Location: /cgi-bin/loop.sh\n\n'
