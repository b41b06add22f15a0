#!/bin/sh
# A CGI script in shell: the request as the script sees it (RFC 3875 variables).
# Open http://127.0.0.1:8000/cgi-bin/env.sh/extra/path?a=1 with devserve --cgi -d examples
printf 'Content-Type: text/plain; charset=utf-8\n\n'
for name in REQUEST_METHOD SCRIPT_NAME PATH_INFO QUERY_STRING SERVER_PROTOCOL \
    REMOTE_ADDR HTTP_USER_AGENT; do
    eval "value=\${$name}"
    printf '%s=%s\n' "$name" "$value"
done
printf 'running as uid %s\n' "$(id -u)"
