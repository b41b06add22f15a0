#!/bin/sh
# Fail before any output, with a message on stderr.
echo "fail.sh: something went wrong" >&2
exit 3
