/* nftables scripts applied inside a namespace: libnftables opens its netlink
 * socket in nft_ctx_new(), so the context is created while this thread is in
 * the target namespace, and stays bound to it. */
#include <errno.h>
#include <string.h>

#include <netlink/netlink.h>
#include <nftables/libnftables.h>

#include "netem/internal.h"

static struct nft_ctx *ctx_new_in(const char *netns, char *err, size_t errlen)
{
    int saved;
    if (fl_ns_enter(netns, &saved, err, errlen))
        return NULL;
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    fl_ns_leave(saved);
    if (!ctx) {
        fl_neterr(err, errlen, FL_NETEM_ESYS, ENOMEM, "nft_ctx_new in %s", netns);
        return NULL;
    }
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    return ctx;
}

static int ctx_run(struct nft_ctx *ctx, const char *netns, const char *script, char *err,
                   size_t errlen)
{
    if (nft_run_cmd_from_buffer(ctx, script) == 0) {
        nft_ctx_get_error_buffer(ctx); /* drain */
        return 0;
    }
    const char *msg = nft_ctx_get_error_buffer(ctx);
    char first[200] = "";
    if (msg) {
        size_t len = strcspn(msg, "\n");
        if (len >= sizeof first)
            len = sizeof first - 1;
        memcpy(first, msg, len);
        first[len] = 0;
    }
    return fl_neterr(err, errlen, FL_NETEM_ESYS, 0, "nftables in %s: %s", netns,
                     first[0] ? first : "failed");
}

int fl_nft_run(fl_segment *seg, const char *script, char *err, size_t errlen)
{
    if (!seg->nft && !(seg->nft = ctx_new_in(seg->netns, err, errlen)))
        return -FL_NETEM_ESYS;
    return ctx_run(seg->nft, seg->netns, script, err, errlen);
}

int fl_nft_run_in(const char *netns, const char *script, char *err, size_t errlen)
{
    struct nft_ctx *ctx = ctx_new_in(netns, err, errlen);
    if (!ctx)
        return -FL_NETEM_ESYS;
    int rc = ctx_run(ctx, netns, script, err, errlen);
    nft_ctx_free(ctx);
    return rc;
}

void fl_segment_close(fl_segment *seg)
{
    if (seg->nft)
        nft_ctx_free(seg->nft);
    if (seg->rt)
        nl_socket_free(seg->rt);
    seg->nft = NULL;
    seg->rt = NULL;
}
