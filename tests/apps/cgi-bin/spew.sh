#!/bin/sh
# Write output forever, recording the pid first: the server must kill it when the
# client goes away.
echo $$ > "$PID_FILE"
printf 'Content-Type: text/plain\n\n'
while :; do
    echo "spam spam spam spam spam spam spam spam spam spam spam spam spam spam spam"
done
