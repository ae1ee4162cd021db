/* A stand-in for Tencent's libWeWorkFinanceSdk_C.so with the same C ABI (WeWorkFinanceSdk_C.h), so the
 * Python side of FinanceSdkArchiveSource is tested through real ctypes calls. Three archived items exist,
 * seq 1..3; DecryptData returns a JSON message that names the key and ciphertext it was given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *buf; int len; } Slice_t;
typedef struct { int ready; } WeWorkFinanceSdk_t;

WeWorkFinanceSdk_t *NewSdk(void) { return calloc(1, sizeof(WeWorkFinanceSdk_t)); }

int Init(WeWorkFinanceSdk_t *sdk, const char *corpid, const char *secret) {
    if (strcmp(corpid, "wwfakecorp") != 0 || strcmp(secret, "archive-secret") != 0) return 10000;
    sdk->ready = 1;
    return 0;
}

void DestroySdk(WeWorkFinanceSdk_t *sdk) { free(sdk); }
Slice_t *NewSlice(void) { return calloc(1, sizeof(Slice_t)); }
void FreeSlice(Slice_t *s) { if (s) { free(s->buf); free(s); } }
char *GetContentFromSlice(Slice_t *s) { return s->buf; }
int GetSliceLen(Slice_t *s) { return s->len; }

static void put(Slice_t *s, const char *text) {
    free(s->buf);
    s->len = (int)strlen(text);
    s->buf = malloc((size_t)s->len + 1);
    memcpy(s->buf, text, (size_t)s->len + 1);
}

int GetChatData(WeWorkFinanceSdk_t *sdk, unsigned long long seq, unsigned int limit, const char *proxy,
                const char *passwd, int timeout, Slice_t *out) {
    (void)proxy; (void)passwd; (void)timeout;
    if (!sdk->ready) return 10003;
    if (limit > 1000) return 10000;
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[");
    unsigned int emitted = 0;
    for (unsigned long long i = seq + 1; i <= 3 && emitted < limit; i++, emitted++) {
        n += snprintf(buf + n, sizeof buf - (size_t)n,
                      "%s{\"seq\":%llu,\"msgid\":\"m%llu\",\"publickey_ver\":1,"
                      "\"encrypt_random_key\":\"K%llu\",\"encrypt_chat_msg\":\"C%llu\"}",
                      emitted ? "," : "", i, i, i, i);
    }
    snprintf(buf + n, sizeof buf - (size_t)n, "]}");
    put(out, buf);
    return 0;
}

int DecryptData(const char *encrypt_key, const char *encrypt_msg, Slice_t *msg) {
    if (strcmp(encrypt_msg, "BROKEN") == 0) return 10006;
    char buf[1024];
    snprintf(buf, sizeof buf, "{\"msgid\":\"x\",\"key\":\"%s\",\"msg\":\"%s\"}", encrypt_key, encrypt_msg);
    put(msg, buf);
    return 0;
}
