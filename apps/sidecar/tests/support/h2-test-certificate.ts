// A self-signed P-256 certificate for localhost / 127.0.0.1 (valid until 2126), for tests of h2 over TLS
// with ALPN. Test material only: generated with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1`.

export const testCertificatePem = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUVcEsZGUa6ha4hLFxWf3AhbgqDqQwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMjA4MzAyMVoYDzIxMjYxMDI5
MDgzMDIxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQ3ZnB1tIDNCc2HXU3xhWjm/P8+cCtQQJaJ+DEdQiJvYxncyt5YOpde
e3ggR5o/Q2UPa9lov034LO0ImxTdl8ZPo28wbTAdBgNVHQ4EFgQUgbdIDeRs+xYn
i8Q8TtwjOR/ZpDYwHwYDVR0jBBgwFoAUgbdIDeRs+xYni8Q8TtwjOR/ZpDYwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIgGMFjo0ZcLWOnvJB58OxgWLNpi8M4/XAphcCSlM4/dyUCIQDv
UyKiXsrms6FPoFVV7XE7o6ezRru8vu/rIeIZyjLOpg==
-----END CERTIFICATE-----`;

export const testPrivateKeyPem = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLq8esutbOyomZhQ7
c0qKaaPktXMLSEY1cIr1o6KkDGahRANCAAQ3ZnB1tIDNCc2HXU3xhWjm/P8+cCtQ
QJaJ+DEdQiJvYxncyt5YOpdee3ggR5o/Q2UPa9lov034LO0ImxTdl8ZP
-----END PRIVATE KEY-----`;
