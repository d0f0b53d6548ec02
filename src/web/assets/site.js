// The few lines of script the pages use; every page works without them.
// A form marked data-confirm asks before it is sent (retiring a site,
// taking it offline); a select marked data-autosubmit sends its filter
// form when changed.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.submit();
  }
});
