#!/bin/sh
# Only a header block: a 204 with a custom field, no body.
printf 'Status: 204 No Content\nX-Script: headers-only\n\n'
