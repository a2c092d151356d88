// Narrow a long list of checkboxes as the user types: <input data-filter-choices="ID-of-the-list">.
// Hidden choices keep their state; the form works the same without this script.
document.querySelectorAll("input[data-filter-choices]").forEach(function (input) {
  var list = document.getElementById(input.dataset.filterChoices);
  if (!list) return;
  input.addEventListener("input", function () {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    list.querySelectorAll("label").forEach(function (label) {
      if (!label.querySelector("input")) return; // a group's heading
      var text = label.textContent.toLowerCase();
      var shown = words.every(function (word) { return text.indexOf(word) !== -1; });
      label.parentElement.hidden = !shown;
    });
  });
});
