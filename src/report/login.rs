//! The 登录 page (`/login`): a form that takes a token once, so that a browser keeps a
//! session instead of sending the token with every request.
//!
//! The form is a plain HTML form: it works without the script. It posts to `/login`
//! with the page to return to in `?next=`; the server checks the request's origin
//! (there is no session yet, so no CSRF token to send).

use maud::{html, DOCTYPE};

use super::html::enc;

/// What the 登录 page says besides its form.
#[derive(Debug, Clone, Default)]
pub struct LoginView<'a> {
    /// Where to go after signing in (a same-site path, already checked).
    pub next: &'a str,
    /// Why the last attempt failed, if it did.
    pub error: Option<&'a str>,
    /// Who this browser is signed in as already, worded.
    pub signed_in_as: Option<&'a str>,
}

/// The 登录 page.
pub fn login_page(v: &LoginView<'_>) -> String {
    let action = if v.next == "/" {
        "/login".to_string()
    } else {
        format!("/login?next={}", enc(v.next))
    };
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                link rel="icon" href="data:,";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { "登录 · 指标监测" }
                link rel="stylesheet" href="/assets/dashboard.css";
            }
            body.login-page {
                main.login {
                    h1 { "登录" }
                    p { "请用管理员为您开设的用户名和密码登录。" }
                    @if let Some(w) = v.signed_in_as {
                        p { "此浏览器已登录：" (w) "。再次登录将替换当前用户。" }
                    }
                    @if let Some(e) = v.error {
                        p.error role="alert" { (e) }
                    }
                    form method="post" action=(action) {
                        label for="name" { "用户名" }
                        input type="text" id="name" name="name" autocomplete="username" autofocus;
                        label for="password" { "密码" }
                        input type="password" id="password" name="password" autocomplete="current-password";
                        p { button type="submit" id="sign-in" { "登录" } }
                        details.token-sign-in {
                            summary { "使用令牌登录" }
                            p { "令牌是管理员为您所在单位发放的一串密码（以 zb_ 开头），请向县统计局或系统管理员索取。" }
                            label for="token" { "令牌" }
                            input type="password" id="token" name="token" autocomplete="off";
                            p { button type="submit" id="token-sign-in" { "用令牌登录" } }
                        }
                    }
                    p { a href="/" { "不登录，返回指标监测" } }
                }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_keeps_next_and_escapes_what_it_shows() {
        let html = login_page(&LoginView {
            next: "/indicators/a?as_of=2023-06&x=\"",
            error: Some("令牌<无效>"),
            signed_in_as: None,
        });
        assert!(
            html.contains(r#"action="/login?next=%2Findicators%2Fa%3Fas_of%3D2023-06%26x%3D%22""#)
        );
        assert!(html.contains("令牌&lt;无效&gt;"));
        assert!(html.contains(r#"type="password" id="token" name="token" autocomplete="off""#));
        assert!(html.contains("县统计局"));
        let plain = login_page(&LoginView {
            next: "/",
            ..Default::default()
        });
        assert!(plain.contains(r#"action="/login""#));
        assert!(!plain.contains("class=\"error\""));
    }
}
