#!/bin/bash -l
# Default SciServer startup (compat/sciserver-common): batch jobs only. Interface layers
# such as compat/jupyter replace this file with one that also starts their server.
#   startup.sh [--job] [--cwd DIR] [--cmdfile FILE | --notebook FILE] [BASE_URL]

OPTS=$(getopt -o '' -l job,cwd:,cmdfile:,notebook: -- "$@") || { echo "bad options" >&2; exit 2; }
eval set -- "$OPTS"
JOB= CWD= CMD= NB=
while true; do
    case $1 in
        --job) JOB=1; shift ;;
        --cwd) CWD=$2; shift 2 ;;
        --cmdfile) CMD=$2; shift 2 ;;
        --notebook) NB=$2; shift 2 ;;
        --) shift; break ;;
    esac
done

[[ $CWD ]] && cd "$CWD"
if [[ $JOB ]]; then
    if [[ $CMD ]]; then exec /opt/sciserver/run-job.sh --cmdfile "$CMD"; fi
    if [[ $NB ]]; then exec /opt/sciserver/run-job.sh --notebook "$NB"; fi
    echo "$(date) ERROR - --job needs --cmdfile or --notebook" >&2
    exit 2
fi
echo "$(date) - ${SCISERVER_IMAGE:-this image} has no interactive interface; waiting"
exec sleep infinity
