//! Scanning a label with the phone's camera inside the page (progressive
//! enhancement: kitroom.js shows it where the browser may use the camera; typing
//! and USB scanners work without it).

use maud::{html, Markup};

/// Partial, inside a scan form marked `data-camera` (`open`: the first label read
/// opens its page; `continuous`: each label read is sent and the camera stays
/// open). Hidden until kitroom.js finds a camera it may use (a secure context:
/// https, or localhost).
pub fn camera() -> Markup {
    html! {
        div.camera data-decoder=(crate::assets::JSQR_URL) hidden {
            button.secondary.camera-start type="button" { "Scan with the camera" }
            div.camera-view hidden {
                video muted playsinline aria-label="What the camera sees" {}
                button.secondary.camera-stop type="button" { "Stop the camera" }
            }
            p.camera-status role="status" aria-live="polite" {}
        }
    }
}
