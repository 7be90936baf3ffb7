/* LD_PRELOAD shim: a listening socket bound to "any address" is bound to loopback instead.
 *
 * Debian's Orthanc 1.10.1 has no bind-address setting and listens on every interface; its RemoteAccessAllowed=false
 * only answers 401 to other hosts. With this shim the PACS is not reachable from the network at all.
 * Built by sample-apps/pacs/orthanc.py with the system C compiler.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static bind_fn real_bind;
    if (!real_bind) real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
    if (addr && addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in local;
        memcpy(&local, addr, sizeof local);
        if (local.sin_addr.s_addr == htonl(INADDR_ANY)) local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return real_bind(fd, (const struct sockaddr *)&local, sizeof local);
    }
    if (addr && addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 local;
        memcpy(&local, addr, sizeof local);
        if (!memcmp(&local.sin6_addr, &in6addr_any, sizeof in6addr_any)) local.sin6_addr = in6addr_loopback;
        return real_bind(fd, (const struct sockaddr *)&local, sizeof local);
    }
    return real_bind(fd, addr, len);
}
