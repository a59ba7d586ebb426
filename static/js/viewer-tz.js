// Tells the server the viewer's time zone, so schedule previews can show
// the next runs in local time too. Without it only the schedule's zone shows.
(function () {
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz) {
      document.cookie = "adpilot_tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) {
    // An old browser without Intl: previews stay in the schedule's zone.
  }
})();
