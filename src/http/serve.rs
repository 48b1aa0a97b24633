//! The accept loop: what `axum::serve` does, with hyper's timers switched on (axum
//! sets none, so hyper's header-read timeout never fired). A client that does not
//! finish a request's headers in time is dropped, and so is a kept-alive connection
//! left idle that long. HTTP/1.1, as axum served it (a load balancer in front speaks
//! HTTP/2 to browsers).

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in
/// flight finish. `idle` bounds a request's headers and an idle connection.
pub(crate) async fn serve<S>(
    listener: TcpListener,
    app: S,
    idle: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let connections = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(idle);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Pages stream in several small writes: without TCP_NODELAY, Nagle's algorithm
        // and the client's delayed ACK hold each streamed page ~40 ms (measured).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::trace!(%error, "could not set TCP_NODELAY");
        }
        // The peer address feeds the audit log and the per-IP rate limits.
        let service = app
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            });
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
}
