//! Ctrl-C / SIGTERM as a future: the run loop flushes and commits on it.

use std::future::Future;

/// Catches Ctrl-C and SIGTERM from this call on and resolves on the first.
///
/// The handlers are installed here, not when the future is first polled: a
/// SIGTERM that arrives while a run is still starting (opening the lake,
/// joining a consumer group) must mean "stop cleanly", and an async fn
/// would leave the default action, an exit with nothing said, until the run
/// loop first waits on it. Call it inside the runtime, before the slow work.
pub fn signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (signal(SignalKind::interrupt()).ok(), signal(SignalKind::terminate()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let (mut interrupt, mut terminate) = (interrupt, terminate);
            tokio::select! {
                () = recv(&mut interrupt) => {}
                () = recv(&mut terminate) => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: flushing and committing what was read");
    }
}

/// The next signal, or never when the handler could not be installed.
#[cfg(unix)]
async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
    if let Some(s) = s {
        if s.recv().await.is_some() {
            return;
        }
    }
    std::future::pending().await
}
