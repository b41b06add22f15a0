#!/bin/sh
# Send the head and a little body, then hang.
printf 'Content-Type: text/plain\n\nbegin\n'
sleep 30
