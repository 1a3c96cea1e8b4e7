# Jupyter server settings for SciServer (installed as /etc/jupyter/jupyter_server_config.py).
# SciServer's proxy authenticates the user, so the server itself runs without a token and
# is reached under the base URL that compute passes to startup.sh.
c = get_config()  # noqa: F821

c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.ServerApp.open_browser = False
c.ServerApp.root_dir = "/home/idies/workspace"
c.IdentityProvider.token = ""
c.ServerApp.password = ""
c.ServerApp.allow_origin = "*"
c.ServerApp.trust_xheaders = True
c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash", "-l"]}
c.FileContentsManager.delete_to_trash = False
