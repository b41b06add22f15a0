#!/bin/sh
# Echo the query string and the first argument (a query without '=' is one).
printf 'Content-Type: text/plain\n\n'
printf 'query=%s\n' "$QUERY_STRING"
printf 'argc=%s arg1=%s\n' "$#" "$1"
