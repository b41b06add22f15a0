#!/bin/sh
# Never answer: record the pid first so the test can check the script was killed.
echo $$ > "$PID_FILE"
sleep 30
