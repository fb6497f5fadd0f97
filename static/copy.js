/* Copy buttons. The link or code is on the page as text whatever happens, to
   select and copy by hand; with JavaScript and a clipboard, each element
   marked data-copy="what it is" also gets a button that copies its <code>,
   and each link in an element of class copy-link one that copies the link. */
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) { return; }
  var holders = document.querySelectorAll("[data-copy], .copy-link");
  if (!holders.length) { return; }
  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  document.body.appendChild(status);

  holders.forEach(function (holder) {
    var source = holder.querySelector("code") || holder.querySelector("a") || holder;
    var what = holder.getAttribute("data-copy") || "the link";
    var button = document.createElement("button");
    var label = document.createElement("span");
    var hidden = document.createElement("span");
    button.type = "button";
    button.className = "button button--small button--secondary copy-button";
    label.textContent = "Copy";
    hidden.className = "visually-hidden";
    hidden.textContent = " " + what;
    button.appendChild(label);
    button.appendChild(hidden);
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        label.textContent = "Copied";
        status.textContent = "Copied " + what + ".";
        window.setTimeout(function () { label.textContent = "Copy"; }, 3000);
      }, function () {
        status.textContent = "Could not copy " + what + ": select it and copy it yourself.";
      });
    });
    holder.appendChild(button);
  });
}());
