# SciServer login environment (installed as /etc/profile.d/sciserver.sh).
export SCISERVER_WORKSPACE=${SCISERVER_WORKSPACE:-/home/idies/workspace}
# conda, when the science image has it: make `conda activate` work in login shells.
if [ -f /opt/conda/etc/profile.d/conda.sh ]; then
    . /opt/conda/etc/profile.d/conda.sh
fi
