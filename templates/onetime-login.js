// The one-time token arrives in the URL fragment (never sent to the server in a URL):
// post it once through the login form and wipe it from the address bar and history.
(function () {
  var match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!match) { return; }
  history.replaceState(null, "", window.location.pathname + window.location.search);
  var field = document.getElementById("token");
  var form = document.getElementById("login-form");
  if (!field || !form || document.getElementById("login-error")) { return; }
  field.value = decodeURIComponent(match[1]);
  form.submit();
})();
