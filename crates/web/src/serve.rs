//! Serving the router: plain HTTP, or HTTPS with a TLS configuration that the node builds
//! (its certificate, the smart-card CA, revocation lists). The node also says who a verified
//! client certificate stands for; handlers see only the resulting [`ClientCertUser`], never TLS.

use crate::auth::ClientCertUser;
use axum::Router;
use axum::serve::ListenerExt;
use axum_server::accept::{Accept, NoDelayAcceptor};
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tower_layer::Layer;

/// Who a client certificate (DER) stands for, if anyone.
pub type CertUser = Arc<dyn Fn(&[u8]) -> ClientCertUser + Send + Sync>;

/// Serves `app` over plain HTTP (loopback, or behind a TLS proxy). Answers go out at once
/// (`TCP_NODELAY`): a response written in two parts must not wait for the client's delayed ACK.
pub async fn plain(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
}

/// The TLS configuration in force; [`Tls::reload`] swaps it for connections from then on.
#[derive(Clone)]
pub struct Tls(RustlsConfig);

impl Tls {
    pub fn new(config: Arc<rustls::ServerConfig>) -> Self {
        Self(RustlsConfig::from_config(config))
    }

    pub fn reload(&self, config: Arc<rustls::ServerConfig>) {
        self.0.reload_from_config(config);
    }
}

/// Serves `app` over HTTPS on `listener`, mapping each client certificate with `user_of`.
pub async fn https(listener: std::net::TcpListener, tls: Tls, user_of: CertUser, app: Router) -> std::io::Result<()> {
    let acceptor = CertAcceptor { inner: RustlsAcceptor::new(tls.0).acceptor(NoDelayAcceptor::new()), user_of };
    axum_server::from_tcp(listener)?
        .acceptor(acceptor)
        .serve(app.into_make_service_with_connect_info::<SocketAddr>())
        .await
}

#[derive(Clone)]
struct CertAcceptor {
    inner: RustlsAcceptor<NoDelayAcceptor>,
    user_of: CertUser,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = std::io::Result<T>> + Send>>;

type Inner = RustlsAcceptor<NoDelayAcceptor>;
type Tcp = tokio::net::TcpStream;

impl<S> Accept<Tcp, S> for CertAcceptor
where
    S: Send + 'static,
    Inner: Accept<Tcp, S, Stream = tokio_rustls::server::TlsStream<Tcp>>,
    <Inner as Accept<Tcp, S>>::Service: Send + 'static,
    <Inner as Accept<Tcp, S>>::Future: Send + 'static,
{
    type Stream = tokio_rustls::server::TlsStream<Tcp>;
    type Service = axum::middleware::AddExtension<<Inner as Accept<Tcp, S>>::Service, ClientCertUser>;
    type Future = BoxFuture<(Self::Stream, Self::Service)>;

    fn accept(&self, stream: Tcp, service: S) -> Self::Future {
        let (inner, user_of) = (self.inner.clone(), self.user_of.clone());
        Box::pin(async move {
            let (stream, service) = inner.accept(stream, service).await?;
            let user = stream.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|der| user_of(der.as_ref()));
            Ok((stream, axum::Extension(user.unwrap_or_default()).layer(service)))
        })
    }
}
