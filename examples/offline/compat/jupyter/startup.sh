#!/bin/sh
# from compat/jupyter
cat /etc/motd
echo "startup.sh from compat/jupyter: serving the workspace on port 8888"
exec httpd -f -p 8888 -h /home/idies/workspace
