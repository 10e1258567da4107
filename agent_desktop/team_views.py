"""The desktop's pages that change the team's tools: a private note, a contact's labels, and
the admins' pages for canned replies and labels."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from agent_desktop import canned, labels, notes, selectors
from agent_desktop.models import CannedResponse, Label
from agent_desktop.views import _back_to, _contact_or_404
from campaigns.access import admin_only
from campaigns.selectors import campaigns_for_user


@login_required
@require_POST
def note_add(request, pk):
    contact = _contact_or_404(request, pk)
    text = request.POST.get("text", "").strip()[: notes.MAX_NOTE_LENGTH]
    if text:  # the note appears in the conversation, with who it notified
        notes.note_create(contact=contact, author=request.user, text=text)
    else:
        messages.error(request, "Write the note first.")
    return redirect(_back_to(request, contact))


@login_required
@require_POST
def labels_set(request, pk):
    contact = _contact_or_404(request, pk)
    try:
        labels.contact_set_labels(
            contact=contact, names=request.POST.getlist("labels"), actor=request.user
        )
    except labels.UnknownLabels as exc:
        messages.error(request, str(exc))
    return redirect(_back_to(request, contact))


# --- Admins' pages -----------------------------------------------------------------------------
class CannedResponseForm(forms.ModelForm):
    class Meta:
        model = CannedResponse
        fields = ["shortcut", "text", "campaign"]
        help_texts = {
            "shortcut": "Agents type / and this word in the composer: letters, digits, dashes.",
            "text": "Placeholders: "
            + ", ".join(f"{{{{{name}}}}} ({what})" for name, what in canned.PLACEHOLDERS.items()),
            "campaign": "All campaigns: every agent may use it; else only that campaign's agents.",
        }
        widgets = {"text": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = campaigns_for_user(user)
        self.fields["campaign"].empty_label = "All campaigns"

    def clean(self):
        cleaned = super().clean()
        taken = CannedResponse.objects.filter(
            shortcut=cleaned.get("shortcut"), campaign=cleaned.get("campaign")
        ).exclude(pk=self.instance.pk)
        if cleaned.get("shortcut") and taken.exists():
            self.add_error("shortcut", "This shortcut is already used.")
        return cleaned


class LabelForm(forms.ModelForm):
    class Meta:
        model = Label
        fields = ["name", "color"]


@admin_only
def canned_responses(request, pk=None):
    """Canned replies: the list, and a form to add one (or edit the one `pk` names)."""
    editing = get_object_or_404(CannedResponse, pk=pk) if pk else None
    form = CannedResponseForm(request.POST or None, instance=editing, user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Canned reply /{saved.shortcut} saved.")
        return redirect("team_tools:canned_responses")
    context = {
        "responses": selectors.canned_responses_for(request.user),
        "form": form,
        "editing": editing,
    }
    return render(
        request, "agent_desktop/canned_responses.html", context, status=400 if form.errors else 200
    )


@admin_only
@require_POST
def canned_response_delete(request, pk):
    response = get_object_or_404(CannedResponse, pk=pk)
    response.delete()
    messages.success(request, f"Canned reply /{response.shortcut} deleted.")
    return redirect("team_tools:canned_responses")


@admin_only
def label_list(request):
    form = LabelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Label “{saved.name}” added.")
        return redirect("team_tools:labels")
    context = {"labels": selectors.labels(), "form": form}
    return render(request, "agent_desktop/labels.html", context, status=400 if form.errors else 200)


@admin_only
@require_POST
def label_delete(request, pk):
    label = get_object_or_404(Label, pk=pk)
    label.delete()
    messages.success(request, f"Label “{label.name}” deleted.")
    return redirect("team_tools:labels")
