#!/bin/sh
# The user and groups the script runs as.
printf 'Content-Type: text/plain\n\n'
printf 'uid=%s gid=%s groups=%s\n' "$(id -u)" "$(id -g)" "$(id -G)"
