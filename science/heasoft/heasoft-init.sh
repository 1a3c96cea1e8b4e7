# HEASoft environment for login shells (installed as /etc/profile.d/heasoft.sh).
# The install directory is named after the build platform, e.g. x86_64-pc-linux-gnu-libc2.35.
for HEADAS in /opt/heasoft/*-linux-gnu*; do
    break
done
if [ -f "$HEADAS/headas-init.sh" ]; then
    export HEADAS
    . "$HEADAS/headas-init.sh"
else
    unset HEADAS
fi
