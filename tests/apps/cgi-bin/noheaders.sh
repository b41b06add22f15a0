#!/bin/sh
# Output that is not a CGI response: no header block at all.
echo "just some text"
