#!/bin/sh
# A client redirect: Status and an absolute Location, no body.
printf 'Status: 303 See Other\r\n'
printf 'Location: http://example.com/elsewhere\r\n'
printf '\r\n'
