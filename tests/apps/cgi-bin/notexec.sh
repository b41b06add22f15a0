#!/bin/sh
# Installed without an execute bit by the tests: must give 403, never run.
printf 'Content-Type: text/plain\n\nran\n'
