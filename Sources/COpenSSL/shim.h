// The system's OpenSSL libcrypto (already pulled in by libcurl): HMAC-SHA256 and SHA-256
// without compiling BoringSSL from swift-crypto (measured in README, "Build time").
#include <openssl/evp.h>
#include <openssl/hmac.h>
