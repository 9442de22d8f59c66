# The static web server appliance: HTTP/1.1 over vsock, files over virtio-fs.
APPS += webserver
webserver_SRCS := apps/webserver/main.c apps/webserver/filecache.c apps/webserver/http.c apps/webserver/http_path.c \
	apps/webserver/http_range.c apps/webserver/http_response.c apps/webserver/httpdate.c \
	apps/webserver/mime.c
webserver_COMPONENTS := arch fs net
