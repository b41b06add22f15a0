#!/bin/sh
# Exit at once, leaving a child that holds the output pipe open: the response must end
# when the script does, not when the child does.
printf 'Content-Type: text/plain\n\ndone\n'
sleep 30 &
exit 0
