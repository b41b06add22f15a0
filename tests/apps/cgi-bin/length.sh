#!/bin/sh
# The script frames its own body with Content-Length ("hello", then junk past it).
printf 'Content-Type: text/plain\nContent-Length: 5\n\nhello, and more'
