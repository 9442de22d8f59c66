APPS += hello
hello_SRCS := apps/hello/main.c
hello_COMPONENTS := arch
