//! The fault-injecting TCP layer: a listener whose connections a handler can
//! reset abruptly (RST), to emulate the resets seen from the real service.
//! HTTPS (`tls`) runs on top of these streams, so resets work there too.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Per-connection info handed to handlers: the peer and a "reset me" flag.
#[derive(Clone, Debug)]
pub(crate) struct ConnInfo {
    reset: Arc<AtomicBool>,
}

impl ConnInfo {
    /// Info for no connection (what a listener's `local_addr` must return).
    pub(crate) fn unused() -> Self {
        Self { reset: Arc::new(AtomicBool::new(false)) }
    }

    /// Marks the connection for an abrupt reset and returns a placeholder
    /// response that will never reach the client: the stream fails its next
    /// write, hyper drops it, and zero linger turns the close into a TCP RST.
    pub(crate) fn reset(&self) -> Response {
        self.reset.store(true, Ordering::SeqCst);
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose streams can be reset from a handler.
pub(crate) struct SimListener {
    inner: TcpListener,
}

impl SimListener {
    /// Wraps a bound listener.
    pub(crate) fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

/// A TCP stream that fails all I/O (and closes with RST) once its flag is set.
pub(crate) struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl ResettableStream {
    fn check(&self) -> std::io::Result<()> {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset"));
        }
        Ok(())
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Listener for SimListener {
    type Io = ResettableStream;
    type Addr = ConnInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let reset = Arc::new(AtomicBool::new(false));
                    return (
                        ResettableStream { inner: stream, reset: Arc::clone(&reset) },
                        ConnInfo { reset },
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()?;
        Ok(ConnInfo::unused())
    }
}
