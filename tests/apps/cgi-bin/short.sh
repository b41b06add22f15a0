#!/bin/sh
# Content-Length promises more than the script writes.
printf 'Content-Type: text/plain\nContent-Length: 100\n\nshort'
