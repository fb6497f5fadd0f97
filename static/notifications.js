/* alertnet: keep the unread counts and the inbox current without reloading.
   Polls /notifications/unread.json every 25 seconds while the tab is visible
   (one small indexed query per open tab), so it works behind any proxy and
   with any gunicorn worker class. On the inbox it offers a refresh when newer
   alerts have arrived rather than moving rows under the reader's finger. */
(function () {
  "use strict";

  var INTERVAL = 25000;
  var ENDPOINT = "/notifications/unread.json";
  var timer = null;
  var onInbox = window.location.pathname === "/alerts" && !window.location.search;
  var baseline = 0;

  if (onInbox) {
    var newest = document.querySelector(".alert-list time[datetime]");
    baseline = newest ? Date.parse(newest.getAttribute("datetime")) : 0;
  }

  function setCount(link, count, word, className) {
    if (!link) { return; }
    var badge = link.querySelector("." + className);
    if (!count) {
      if (badge) { badge.remove(); }
      return;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = className;
      link.appendChild(document.createTextNode(" "));
      link.appendChild(badge);
    }
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " " + word;
    badge.replaceChildren(document.createTextNode(String(count)), hidden);
  }

  function offerRefresh() {
    if (document.getElementById("new-alerts")) { return; }
    var notice = document.createElement("div");
    notice.id = "new-alerts";
    notice.className = "notice notice--success live-notice";
    notice.setAttribute("role", "status");
    var link = document.createElement("a");
    link.href = "/alerts";
    link.textContent = "Show them";
    notice.append("New alerts have arrived. ", link);
    var heading = document.querySelector(".page-heading") || document.querySelector("main h1");
    if (heading && heading.parentNode) {
      heading.parentNode.insertBefore(notice, heading.nextSibling);
    }
  }

  function poll() {
    fetch(ENDPOINT, {
      credentials: "same-origin",
      redirect: "manual",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (!data) { return; }
      setCount(document.querySelector('.nav a[href="/alerts"]'), data.unread, "unread by you", "count");
      setCount(document.querySelector('.nav a[href="/notifications"]'), data.notifications, "new",
        "count-new");
      if (onInbox && data.latest && Date.parse(data.latest) > baseline) {
        offerRefresh();
      }
    }).catch(function () { /* offline or signed out: try again next time */ });
  }

  function start() {
    if (timer === null) { timer = window.setInterval(poll, INTERVAL); }
  }

  function stop() {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      stop();
    } else {
      poll();
      start();
    }
  });
  if (!document.hidden) { start(); }
}());
