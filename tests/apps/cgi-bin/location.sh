#!/bin/sh
# An absolute Location without Status: the server makes it a 302.
printf 'Location: http://example.com/found\n\n'
