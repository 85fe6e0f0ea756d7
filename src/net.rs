//! HTTP clients. Every reqwest client tracecheck builds comes from [`client_builder`], which first
//! installs the TLS crypto provider (ring): reqwest is built without one of its own (its default,
//! aws-lc-rs, is a large C build), and a client built before a provider is installed panics.

/// Installs ring as the process's rustls crypto provider; later calls (or another provider already
/// installed by the program embedding tracecheck) leave it as it is.
///
/// ```
/// tracecheck::net::install_crypto();
/// let client = reqwest::Client::new(); // would panic without a provider
/// # drop(client);
/// ```
pub fn install_crypto() {
    // rustls 0.23.48 deprecates ring's provider for lacking post-quantum key exchange; the choice
    // is deliberate (ARCHITECTURE.md, "TLS"): aws-lc-rs would add minutes of C build on 2 cores,
    // for talking to a trace backend whose TLS offers classic key exchange anyway.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest client builder, the crypto provider installed. https verifies servers against the
/// system's root certificates (rustls-platform-verifier).
///
/// ```
/// let client = tracecheck::net::client_builder().build().unwrap();
/// # drop(client);
/// ```
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto();
    reqwest::Client::builder()
}
