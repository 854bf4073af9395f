"""Outgoing e-mail: render in the recipient's language now, deliver later in a job.

    from portal.mail import send_mail
    send_mail(db.session, to="a@b.kz", locale="kk", template="password_reset",
              context={"link": ...})
    db.session.commit()  # the "mail.send" job is handed to the worker only now

Templates live in templates/mail/<name>.subject.txt and <name>.txt. Delivery is SMTP when
MAIL_SERVER is set; otherwise (development) each mail is written to instance/mail/ and logged.
This package imports no capability.
"""

from portal.mail.compose import absolute_url, render_mail, send_mail
from portal.mail.delivery import deliver

__all__ = ["absolute_url", "deliver", "render_mail", "send_mail"]
