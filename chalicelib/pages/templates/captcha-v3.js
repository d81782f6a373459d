// reCAPTCHA v3 has nothing to tick: on Send, ask it for a token for this form's action, then send the form.
(function () {
  var holder = document.getElementById("captcha-v3");
  var form = holder.closest("form");
  var sending = false;
  form.addEventListener("submit", function (event) {
    // Without the script (blocked, offline) the form goes as it is and Formloop answers what to do.
    if (sending || typeof grecaptcha === "undefined") return;
    event.preventDefault();
    grecaptcha.ready(function () {
      grecaptcha.execute(holder.dataset.sitekey, {action: holder.dataset.action}).then(function (token) {
        holder.querySelector("input").value = token;
        sending = true;
        form.submit();
      });
    });
  });
})();
