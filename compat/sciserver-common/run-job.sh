#!/bin/bash
# Run one SciServer batch job: a shell command file or a notebook, in the job's working
# directory, with its output kept in stdout.txt / stderr.txt and echoed to the container log.
# Usage: run-job.sh --cmdfile FILE | --notebook FILE
set -u

case ${1:-} in
    --cmdfile)
        [[ -f ${2:-} ]] || { echo "$(date) ERROR - command file ${2:-} not found"; exit 1; }
        bash -l "$2" >>stdout.txt 2>>stderr.txt
        ;;
    --notebook)
        [[ -f ${2:-} ]] || { echo "$(date) ERROR - notebook ${2:-} not found"; exit 1; }
        if ! command -v jupyter >/dev/null; then
            echo "$(date) ERROR - this image has no jupyter to run notebook jobs"
            exit 1
        fi
        jupyter nbconvert --to notebook --execute --inplace \
            --ExecutePreprocessor.allow_errors=False "$2" >>stdout.txt 2>>stderr.txt
        ;;
    *)
        echo "usage: $0 --cmdfile FILE | --notebook FILE" >&2
        exit 2
        ;;
esac
status=$?
echo "$(date) - job completed, exit status: $status"
echo "$(date) - JOB stdout ======================================="
cat stdout.txt
echo "$(date) - JOB stderr ======================================="
cat stderr.txt
exit $status
