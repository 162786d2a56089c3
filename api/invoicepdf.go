package api

import (
	"fmt"
	"io"
	"strings"

	"codeberg.org/go-pdf/fpdf"

	"github.com/fieldfix/fieldfix/dispatch/money"
)

// writeInvoicePDF renders an invoice or credit note on one A4 page (more when its lines need):
// the same lines and sums as its JSON, in PDF's core Helvetica (text outside Windows-1252 is
// shown as '?'). The document's dates are its issue time, so one invoice always renders the same.
func writeInvoicePDF(w io.Writer, inv money.Invoice) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(inv.IssuedAt)
	pdf.SetModificationDate(inv.IssuedAt)
	pdf.SetTitle(inv.Number, true)
	pdf.SetProducer("FieldFix", false)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.AddPage()
	title := "Invoice"
	if inv.Kind == money.KindCreditNote {
		title = "Credit note"
	}
	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 10, tr(title+" "+inv.Number), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(0, 6, tr("Issued "+inv.IssuedAt.Format("2006-01-02 15:04 MST")+fmt.Sprintf(" - booking %d", inv.BookingID)), "", 1, "L", false, 0, "")
	if inv.CreditsInvoiceID != nil {
		pdf.CellFormat(0, 6, tr(fmt.Sprintf("Corrects invoice %d: %s", *inv.CreditsInvoiceID, inv.Reason)), "", 1, "L", false, 0, "")
	}
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "B", 10)
	cols := []float64{95, 20, 35, 35}
	for i, h := range []string{"Description", "Qty", "Unit", "Net"} {
		align := "R"
		if i == 0 {
			align = "L"
		}
		pdf.CellFormat(cols[i], 7, h, "B", 0, align, false, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("Helvetica", "", 10)
	for _, l := range inv.Lines {
		d := l.Description
		if len(d) > 60 {
			d = d[:57] + "..."
		}
		pdf.CellFormat(cols[0], 6, tr(d), "", 0, "L", false, 0, "")
		pdf.CellFormat(cols[1], 6, fmt.Sprint(l.Quantity), "", 0, "R", false, 0, "")
		pdf.CellFormat(cols[2], 6, money.Format(l.UnitMinor, inv.Currency), "", 0, "R", false, 0, "")
		pdf.CellFormat(cols[3], 6, money.Format(l.NetMinor, inv.Currency), "", 1, "R", false, 0, "")
	}
	pdf.Ln(3)
	sum := func(label string, minor int64, bold bool) {
		if bold {
			pdf.SetFont("Helvetica", "B", 11)
		}
		pdf.CellFormat(cols[0]+cols[1]+cols[2], 6, label, "", 0, "R", false, 0, "")
		pdf.CellFormat(cols[3], 6, money.Format(minor, inv.Currency), "", 1, "R", false, 0, "")
		pdf.SetFont("Helvetica", "", 10)
	}
	sum("Net", inv.NetMinor, false)
	for _, t := range inv.Taxes {
		sum(fmt.Sprintf("Tax %d.%02d%% on %s", t.RateBP/100, t.RateBP%100, money.Format(t.NetMinor, inv.Currency)), t.TaxMinor, false)
	}
	sum("Total", inv.TotalMinor, true)
	if inv.Kind == money.KindInvoice {
		pdf.Ln(3)
		sum("Paid", inv.PaidMinor, false)
		if inv.CreditedMinor > 0 {
			sum("Credited", inv.CreditedMinor, false)
		}
		sum("Due ("+strings.ReplaceAll(inv.Status(), "_", " ")+")", max(inv.DueMinor(), 0), true)
	}
	return pdf.Output(w)
}
