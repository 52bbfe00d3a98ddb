// A <select data-autosubmit> submits its form as soon as the choice changes.
document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});
