#!/bin/bash -l
# SciServer startup for Jupyter images (compat/jupyter; replaces sciserver-common's).
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
BASE_URL=${1:-/}

# Conda environments that users keep in their volumes become notebook kernels.
echo "$(date) - scanning for conda environments"
for env in /home/idies/workspace/{Storage,Temporary}/*/* /home/idies/workspace/*; do
    [[ -d $env/conda-meta && -x $env/bin/python ]] || continue
    name=$(basename "$env")
    display="$name (user volume environment)"
    [[ $env == /home/idies/workspace/$name ]] && display="$name (data volume environment)"
    echo "$(date) - adding kernel $display"
    "$env/bin/python" -m ipykernel install --user --name "$name" --display-name "$display" || true
done

[[ $CWD ]] && cd "$CWD"
if [[ $JOB ]]; then
    if [[ $CMD ]]; then exec /opt/sciserver/run-job.sh --cmdfile "$CMD"; fi
    if [[ $NB ]]; then exec /opt/sciserver/run-job.sh --notebook "$NB"; fi
    echo "$(date) ERROR - --job needs --cmdfile or --notebook" >&2
    exit 2
fi

echo "$(date) - starting JupyterLab under $BASE_URL"
export SHELL=/bin/bash
exec jupyter lab --no-browser --ServerApp.base_url="$BASE_URL"
