#!/bin/bash -l
# SciServer startup for cellxgene images (compat/cellxgene; replaces sciserver-common's).
#   startup.sh [--dataset FILE.h5ad] [BASE_URL]
# The data set defaults to $CELLXGENE_DATASET; a user's own file in the workspace can be
# given with --dataset.

OPTS=$(getopt -o '' -l dataset: -- "$@") || { echo "bad options" >&2; exit 2; }
eval set -- "$OPTS"
DATASET=${CELLXGENE_DATASET:-}
while true; do
    case $1 in
        --dataset) DATASET=$2; shift 2 ;;
        --) shift; break ;;
    esac
done

# "/user/x/y/" -> "/user/x/y"; "/" or nothing -> "" (served at the root).
PREFIX=$(printf '/%s' "${1:-}" | sed -e 's%//*%/%g' -e 's%/$%%')

if [[ ! -f $DATASET ]]; then
    echo "$(date) ERROR - data set '$DATASET' not found" >&2
    exit 1
fi

if [[ $PREFIX ]]; then
    sed "s%@PREFIX@%${PREFIX}%g" /opt/sciserver/nginx.conf.template > /tmp/nginx.conf
else
    sed -e '/# prefix-redirect$/d' -e 's%@PREFIX@%%g' /opt/sciserver/nginx.conf.template > /tmp/nginx.conf
fi
nginx -c /tmp/nginx.conf
echo "$(date) - serving $DATASET under ${PREFIX:-/}"
exec cellxgene launch --host 127.0.0.1 --port 5005 --disable-annotations "$DATASET"
