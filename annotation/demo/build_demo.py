#!/usr/bin/env python3
"""Build the TrialMark demo corpus (BRAT standoff) from the data in this file.

The trials below are MADE UP: they were written by the TrialMark project for demos and tests,
they describe no real study, and they are released under CC0 1.0 (see README.md).

Usage (from the repository root or from anywhere):

    python annotation/demo/build_demo.py           # (re)write annotation/demo/corpus/ and verify it
    python annotation/demo/build_demo.py --check   # verify only: files on disk == what this script builds

Only the standard library is used. Output is deterministic: LF newlines, UTF-8, one criterion per line,
a trailing newline, T ids numbered by position, R ids in the order the relations are written below.

Markup (annotated trials only)
------------------------------
Each criterion is one string ``"<marked-up text> :: <relation>; <relation>; ..."`` (the ``::`` part is
optional).  In the text:

* ``[span text|Type]`` marks a mention; ``[span text|Type#id]`` gives it a sentence-local id that relations
  refer to.  Brackets nest: ``[[asthma|Condition] exacerbations|Condition#c]``.
* Discontinuous mentions: several bracket groups with the same ``#id`` (and type) are ONE mention whose
  fragments are those spans, e.g. ``[Renal|Condition#r] or [hepatic [impairment|Condition#r]|Condition#h]``
  gives ``Condition "Renal impairment"`` with two fragments, plus the contiguous ``hepatic impairment``.
* Relations: ``Has_value m v`` (head first, tail second, as in Chia); groups: ``OR a b c`` -> ``*\tOR T.. T..``.
* The characters ``[``, ``]`` and ``|`` and the string ``::`` therefore never occur in criteria text.

Unannotated trials are plain strings and get EMPTY .ann files.
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS_DIR = HERE / "corpus"
SCHEMA_PATH = HERE / "schema.json"

# ----------------------------------------------------------------------------------------------------------
# The trials.  annotated=True: every criterion carries markup; annotated=False: plain text, empty .ann.
# ----------------------------------------------------------------------------------------------------------
TRIALS: list[dict[str, Any]] = [
    {
        "id": "DEMO0001",
        "title": "Add-on TMX-101 versus placebo in type 2 diabetes inadequately controlled on metformin",
        "annotated": True,
        "inc": [
            "[Men|Person#m] or [women|Person#w] [aged|Person#a] [18–75 years|Value#v] at screening"
            " :: Has_value a v; OR m w",
            "Diagnosis of [type 2 diabetes mellitus|Condition#c] [for at least 6 months before|Temporal#t]"
            " [screening|Reference_point#r] :: Has_temporal c t; Has_index t r",
            "[HbA1c|Measurement#m] [≥ 7.0% and ≤ 10.5%|Value#v] at the [screening visit|Visit] :: Has_value m v",
            "On a [stable dose|Qualifier#q] of [metformin|Drug#d] ([≥ 1500 mg/day|Value#v1] or"
            " [maximum tolerated dose|Value#v2]) [for at least 8 weeks prior to|Temporal#t]"
            " [randomization|Reference_point#r]"
            " :: Has_qualifier d q; Has_value d v1; Has_value d v2; OR v1 v2; Has_temporal d t; Has_index t r",
            "[Body mass index|Measurement#m] [between 25 and 40 kg/m²|Value#v] inclusive :: Has_value m v",
            "[Fasting plasma glucose|Measurement#m] [≤ 15 mmol/L|Value#v] [at screening|Temporal#t]"
            " :: Has_value m v; Has_temporal m t",
            "[Women of childbearing potential|Person] must [agree to|Mood#md] use [highly effective|Qualifier#q]"
            " [contraception|Procedure#c] [throughout the study|Temporal#t]"
            " :: Has_mood c md; Has_qualifier c q; Has_temporal c t",
            "[Able and willing to|Mood#m] perform [self-monitoring of blood glucose|Procedure#p] and to provide"
            " [written informed consent|Procedure#c] :: Has_mood p m; Has_mood c m; AND p c",
        ],
        "exc": [
            "[Type 1 diabetes|Condition#a], [latent autoimmune diabetes in adults|Condition#b], or"
            " [secondary forms of diabetes|Condition#c] :: OR a b c",
            "Treatment with [basal|Drug#b] or [prandial [insulin|Drug#b]|Drug#p]"
            " [within 3 months before|Temporal#t] [screening|Reference_point#r], except"
            " [short-term use|Qualifier#q] ([≤ 14 days|Value#v]) during [hospitalisation|Visit]"
            " :: OR b p; Has_temporal b t; Has_temporal p t; Has_index t r; Has_value q v",
            "History of [diabetic ketoacidosis|Condition#a] or [hyperosmolar hyperglycaemic state|Condition#b]"
            " [within the past 6 months|Temporal#t] :: OR a b; Has_temporal a t; Has_temporal b t",
            "[Estimated glomerular filtration rate|Measurement#m] [< 45 mL/min/1.73 m²|Value#v]"
            " (CKD-EPI formula) :: Has_value m v",
            "[ALT|Measurement#a] or [AST|Measurement#b] [> 3 × ULN|Value#v], or [total bilirubin|Measurement#c]"
            " [> 1.5 × ULN|Value#w] :: OR a b c; Has_value a v; Has_value b v; Has_value c w",
            "[Myocardial infarction|Condition#a], [unstable angina|Condition#b], [stroke|Condition#c] or"
            " [transient ischaemic attack|Condition#d] [within 6 months prior to|Temporal#t]"
            " [screening|Reference_point#r] :: OR a b c d; Has_temporal a t; Has_temporal b t;"
            " Has_temporal c t; Has_temporal d t; Has_index t r",
            "[Heart failure|Condition#c] classified as [NYHA class III or IV|Qualifier#q] :: Has_qualifier c q",
            "Use of a [continuous subcutaneous [insulin|Drug] pump|Device#a] or an [implanted device|Device#b]"
            " that interferes with [glucose sensing|Procedure] :: OR a b",
            "[Pregnant|Condition#a] or [breastfeeding|Observation#b] [women|Person], or women"
            " [planning|Mood#m] [pregnancy|Condition#c] [during the study|Temporal#t]"
            " :: OR a b c; Has_mood c m; Has_temporal c t",
            "[Not|Negation#n] [able to|Mood#m] comply with the [visit schedule|Visit#v], in the opinion of the"
            " investigator :: Has_mood v m; Has_negation m n",
        ],
    },
    {
        "id": "DEMO0002",
        "title": "TMX-220 in chronic heart failure with reduced ejection fraction",
        "annotated": False,
        "inc": [
            "Men or women aged ≥ 40 years",
            "Chronic heart failure (NYHA class II–IV) diagnosed at least 3 months before screening",
            "Left ventricular ejection fraction ≤ 40% measured by echocardiography within 12 months before Visit 1",
            "NT-proBNP ≥ 600 pg/mL at screening, or ≥ 900 pg/mL in patients with atrial fibrillation",
            "Hospitalisation for heart failure or urgent intravenous diuretic therapy within the past 12 months",
            "Optimal guideline-directed medical therapy, including a β-blocker and an ACE inhibitor, ARB or ARNI,"
            " at stable doses for ≥ 4 weeks",
            "Systolic blood pressure ≥ 95 mmHg at randomisation",
            "Written informed consent obtained before any study procedure",
        ],
        "exc": [
            "Acute decompensated heart failure requiring intravenous inotropes at screening",
            "Myocardial infarction, unstable angina or coronary revascularisation within 90 days before"
            " randomisation",
            "Implantation of a cardiac resynchronisation therapy device within 3 months, or implantation planned"
            " during the study",
            "Left ventricular assist device in place, or listed for heart transplantation",
            "Hypertrophic obstructive cardiomyopathy, constrictive pericarditis or severe primary valvular disease",
            "Symptomatic bradycardia, or second- or third-degree atrioventricular block without a pacemaker",
            "eGFR < 25 mL/min/1.73 m² or serum potassium > 5.2 mmol/L at screening",
            "Symptomatic hypotension with systolic blood pressure < 95 mmHg",
            "Known intolerance to sacubitril/valsartan, or any history of angioedema",
            "Life expectancy of less than 1 year because of non-cardiac disease",
            "Unable to attend clinic visits every 4 weeks during the first 3 months",
        ],
    },
    {
        "id": "DEMO0003",
        "title": "TMX-330 inhaler in moderate-to-severe asthma",
        "annotated": True,
        "inc": [
            "[Male|Person#m] or [female|Person#f] patients [aged|Person#a] [12 to 65 years|Value#v]"
            " :: OR m f; Has_value a v",
            "[Physician-diagnosed|Qualifier#q] [asthma|Condition#c] [for ≥ 12 months prior to|Temporal#t]"
            " [Visit 1|Reference_point#r] :: Has_qualifier c q; Has_temporal c t; Has_index t r",
            "[Pre-bronchodilator|Qualifier#q] [FEV₁|Measurement#m]"
            " [between 40% and 85% of predicted normal|Value#v] [at screening|Temporal#t]"
            " :: Has_qualifier m q; Has_value m v; Has_temporal m t",
            "[Reversibility|Measurement#r] of [≥ 12% and ≥ 200 mL|Value#v] in FEV₁ after [400 µg|Value#d]"
            " [salbutamol|Drug#s] :: Has_value r v; Has_value s d",
            "Treatment with a [medium|Qualifier#q1] or [high [daily dose|Qualifier#q1]|Qualifier#q2] of"
            " [inhaled corticosteroids|Drug#d] [for at least 3 months before|Temporal#t]"
            " [screening|Reference_point#r]"
            " :: OR q1 q2; Has_qualifier d q1; Has_qualifier d q2; Has_temporal d t; Has_index t r",
            "[At least two|Multiplier#x] [[asthma|Condition] exacerbations|Condition#c] [requiring|Mood#md]"
            " [systemic corticosteroids|Drug#d] [in the previous 12 months|Temporal#t]"
            " :: Has_multiplier c x; Has_temporal c t; Has_mood d md",
            "[ACQ-5 score|Measurement#m] [≥ 1.5|Value#v] at [screening|Reference_point#a] and at"
            " [randomisation|Reference_point#b] :: Has_value m v; AND a b",
            "[Able to|Mood#md] use an [electronic peak flow meter|Device#d] and complete the"
            " [daily diary|Procedure#p] :: Has_mood d md; Has_mood p md; AND d p",
        ],
        "exc": [
            "[Current smokers|Observation#a] or [former smokers|Observation#b] with a"
            " [smoking history|Observation#h] of [≥ 10 pack-years|Value#v] :: OR a b; Has_value h v; Has_context b h",
            "[Life-threatening|Qualifier#q] [asthma event|Condition#c] [requiring|Mood#md] [intubation|Procedure#i]"
            " or [admission to an intensive care unit|Visit#u] [within 2 years|Temporal#t]"
            " :: Has_qualifier c q; Has_temporal c t; OR i u; Has_mood i md; Has_mood u md",
            "[Respiratory tract infection|Condition#c] [within 4 weeks before|Temporal#t]"
            " [Visit 1|Reference_point#r] :: Has_temporal c t; Has_index t r",
            "[Chronic obstructive pulmonary disease|Condition#a], [bronchiectasis|Condition#b],"
            " [cystic fibrosis|Condition#c] or other [clinically significant|Qualifier#q] [lung disease|Condition#d]"
            " :: OR a b c d; Subsumes d a; Subsumes d b; Subsumes d c; Has_qualifier d q",
            "[Blood eosinophil count|Measurement#m] [< 150 cells/µL|Value#a] or [> 1500 cells/µL|Value#b]"
            " :: Has_value m a; Has_value m b; OR a b",
            "Treatment with any [biologic|Drug#b] (e.g. [omalizumab|Drug#o], [mepolizumab|Drug#m],"
            " [dupilumab|Drug#d]) [within 5 half-lives|Temporal#t1] or [4 months|Temporal#t2], whichever is longer"
            " :: Subsumes b o; Subsumes b m; Subsumes b d; OR o m d; Has_temporal b t1; Has_temporal b t2; OR t1 t2",
            "[Known|Mood#k] [hypersensitivity|Condition#h] to the [study drug|Drug#s] or any of its"
            " [excipients|Drug#e] :: Has_mood h k; OR s e",
            "[Regular use|Qualifier#q] of [β-blockers|Drug#d] ([oral|Qualifier#a] or [ophthalmic|Qualifier#b])"
            " :: Has_qualifier d q; Has_qualifier d a; Has_qualifier d b; OR a b",
            "[Women|Person] who are [pregnant|Condition#a], [lactating|Observation#b], or have a"
            " [positive|Value#v] [pregnancy test|Measurement#m] [at screening|Temporal#t]"
            " :: OR a b m; Has_value m v; Has_temporal m t",
            "[Participation in another interventional clinical trial|Observation#o] [within 30 days|Temporal#t]"
            " :: Has_temporal o t",
        ],
    },
    {
        "id": "DEMO0004",
        "title": "TMX-404 plus endocrine therapy in HR-positive, HER2-negative advanced breast cancer",
        "annotated": False,
        "inc": [
            "Women or men aged ≥ 18 years with histologically confirmed invasive breast cancer",
            "Hormone receptor-positive (ER ≥ 1% and/or PR ≥ 1%), HER2-negative disease per local laboratory",
            "Locally advanced or metastatic disease not amenable to curative surgery or radiotherapy",
            "At least one measurable lesion according to RECIST v1.1, or bone-only disease with a lytic component",
            "ECOG performance status 0 or 1",
            "Postmenopausal status, or pre-/perimenopausal women receiving a GnRH agonist from ≥ 28 days before"
            " the first dose",
            "Absolute neutrophil count ≥ 1.5 ×10⁹/L, platelets ≥ 100 ×10⁹/L and haemoglobin ≥ 9.0 g/dL",
            "Total bilirubin ≤ 1.5 × ULN and AST/ALT ≤ 2.5 × ULN (≤ 5 × ULN in the presence of liver metastases)",
            "Willing to provide an archival tumour tissue sample or to undergo a fresh biopsy",
        ],
        "exc": [
            "More than one line of chemotherapy for advanced disease",
            "Prior treatment with a CDK4/6 inhibitor in any setting",
            "Symptomatic visceral crisis or rapidly progressing visceral disease",
            "Untreated or symptomatic brain metastases; treated metastases that have been stable for ≥ 4 weeks"
            " are allowed",
            "Major surgery within 4 weeks, or radiotherapy within 2 weeks, before the first dose",
            "QTcF > 470 ms on the screening ECG, or congenital long QT syndrome",
            "Concomitant strong CYP3A4 inhibitors or inducers that cannot be stopped 14 days before enrolment",
            "Another malignancy within 3 years, except adequately treated carcinoma in situ of the cervix or"
            " non-melanoma skin cancer",
            "Pregnant or breastfeeding",
            "Known HIV infection with a detectable viral load, or active hepatitis B or C",
        ],
    },
    {
        "id": "DEMO0005",
        "title": "TMX-505 for albuminuric chronic kidney disease",
        "annotated": True,
        "inc": [
            "[Adults|Person#p] [≥ 18 years of age|Value#v] :: Has_value p v",
            "[Chronic kidney disease|Condition#c] [stage 3a–4|Qualifier#q] with [eGFR|Measurement#m]"
            " [20–59 mL/min/1.73 m²|Value#v] [at screening|Temporal#t]"
            " :: Has_qualifier c q; Has_value m v; Has_temporal m t",
            "[Urine albumin-to-creatinine ratio|Measurement#m] [≥ 200 mg/g and ≤ 5000 mg/g|Value#v] on"
            " [two consecutive|Multiplier#x] samples :: Has_value m v; Has_multiplier m x",
            "Receiving a [maximum tolerated dose|Qualifier#q] of an [ACE inhibitor|Drug#a] or"
            " [angiotensin receptor blocker|Drug#b] [for ≥ 4 weeks|Temporal#t]"
            " :: OR a b; Has_qualifier a q; Has_qualifier b q; Has_temporal a t; Has_temporal b t",
            "[Serum potassium|Measurement#m] [≤ 5.0 mmol/L|Value#v] [at screening|Temporal#t]"
            " :: Has_value m v; Has_temporal m t",
            "[Serum creatinine|Measurement#m] [≤ 265 µmol/L|Value#v] ([3.0 mg/dL|Value#w])"
            " :: Has_value m v; Has_value m w; OR v w",
            "[Systolic blood pressure|Measurement#m] [between 110 and 160 mmHg|Value#v] :: Has_value m v",
            "[Signed informed consent|Procedure#c] obtained [before|Temporal#t]"
            " any [study-specific procedure|Reference_point#r] :: Has_temporal c t; Has_index t r",
        ],
        "exc": [
            "[Polycystic kidney disease|Condition#a], [lupus nephritis|Condition#b] or"
            " [ANCA-associated vasculitis|Condition#c] :: OR a b c",
            "[Kidney transplant|Procedure#a] or [planned|Mood#m] [transplant|Procedure#b]"
            " [during the study period|Temporal#t] :: OR a b; Has_mood b m; Has_temporal b t",
            "[Dialysis|Procedure#a] [within 12 weeks prior to|Temporal#t] [screening|Reference_point#r] or"
            " [expected to|Mood#m] start [dialysis|Procedure#b] [within 6 months|Temporal#u]"
            " :: Has_temporal a t; Has_index t r; Has_mood b m; Has_temporal b u; OR a b",
            "[Immunosuppressive therapy|Drug#i], including [systemic corticosteroids|Drug#s]"
            " [> 10 mg/day prednisone equivalent|Value#v], [within 6 months|Temporal#t]"
            " :: Subsumes i s; Has_value s v; Has_temporal i t",
            "[Uncontrolled hypertension|Condition#c], defined as [systolic|Measurement#s] [> 170 mmHg|Value#v] or"
            " [diastolic [blood pressure|Measurement#s]|Measurement#d] [> 105 mmHg|Value#w]"
            " :: Subsumes c s; Subsumes c d; Has_value s v; Has_value d w; OR s d",
            "[Hepatic impairment|Condition#c] defined as [Child-Pugh class|Measurement#m] [B or C|Value#v]"
            " :: Subsumes c m; Has_value m v",
            "[Haemoglobin|Measurement#h] [< 9 g/dL|Value#a] or [platelets|Measurement#p] [< 100 ×10⁹/L|Value#b]"
            " :: Has_value h a; Has_value p b; OR h p",
            "[Hospitalisation|Visit#v] for [heart failure|Condition#c] [within the past 3 months|Temporal#t]"
            " :: Has_temporal v t; Has_context c v",
            "[Malignancy|Condition#m] [within 5 years|Temporal#t], [except|Negation#n]"
            " [adequately treated|Qualifier#q] [basal cell|Condition#b] or"
            " [squamous cell [carcinoma of the skin|Condition#b]|Condition#s]"
            " :: Has_temporal m t; Has_negation b n; Has_negation s n; OR b s; Has_qualifier b q; Has_qualifier s q",
            "[Pregnancy|Condition#a] or [lactation|Observation#b] :: OR a b",
        ],
    },
    {
        "id": "DEMO0006",
        "title": "TMX-606 in rheumatoid arthritis with inadequate response to methotrexate",
        "annotated": False,
        "inc": [
            "Adults aged 18–80 years who meet the 2010 ACR/EULAR classification criteria for rheumatoid arthritis",
            "Disease duration of ≥ 6 months at screening",
            "≥ 6 swollen joints (of 66) and ≥ 6 tender joints (of 68) at both screening and baseline",
            "C-reactive protein ≥ 6 mg/L or ESR ≥ 28 mm/h at screening",
            "Inadequate response to methotrexate 15–25 mg/week for at least 12 weeks, with a stable dose for the"
            " last 4 weeks",
            "Oral glucocorticoids ≤ 10 mg/day prednisolone or equivalent are allowed if stable for ≥ 4 weeks",
            "Negative interferon-gamma release assay within 3 months before baseline, or adequately treated latent"
            " tuberculosis",
            "Women of childbearing potential must use two forms of contraception until 6 months after the last dose",
        ],
        "exc": [
            "Other inflammatory arthritis, such as psoriatic arthritis, gout or systemic lupus erythematosus",
            "Secondary Sjögren's syndrome with severe extraglandular involvement",
            "Prior treatment with more than one biologic DMARD or with any JAK inhibitor",
            "Intra-articular or parenteral corticosteroids within 6 weeks before baseline",
            "Live vaccines within 8 weeks before baseline or planned during the study",
            "More than one episode of herpes zoster, or disseminated herpes zoster at any time",
            "Lymphocyte count < 0.5 ×10⁹/L or neutrophil count < 1.0 ×10⁹/L",
            "History of venous thromboembolism or a known inherited thrombophilia",
            "Interstitial lung disease requiring supplemental oxygen",
            "Joint replacement surgery planned within the first 24 weeks",
        ],
    },
    {
        "id": "DEMO0007",
        "title": "Switch to a two-drug TMX-707 regimen in virologically suppressed HIV-1 infection",
        "annotated": False,
        "inc": [
            "HIV-1 infection documented by a licensed assay",
            "Aged ≥ 18 years at the screening visit",
            "On a stable antiretroviral regimen of two NRTIs plus an integrase inhibitor for ≥ 6 months",
            "Plasma HIV-1 RNA < 50 copies/mL for at least 12 months; a single blip ≤ 200 copies/mL is allowed",
            "CD4+ T-cell count ≥ 200 cells/µL at screening",
            "No known resistance mutation to any of the study drugs on previous genotype reports",
            "Creatinine clearance ≥ 50 mL/min (Cockcroft–Gault)",
            "Able to swallow tablets and willing to attend visits at weeks 4, 12, 24 and 48",
        ],
        "exc": [
            "Previous virological failure on a regimen containing an integrase inhibitor",
            "Active hepatitis B infection (HBsAg positive), or hepatitis C requiring treatment during the study",
            "AIDS-defining illness within 90 days before screening, other than cutaneous Kaposi's sarcoma",
            "ALT > 5 × ULN, or ALT > 3 × ULN together with bilirubin > 2 × ULN",
            "Decompensated cirrhosis (Child-Pugh class B or C)",
            "Treatment with immunomodulators such as interleukin-2 or interferon within 3 months",
            "Ongoing treatment with rifampicin, carbamazepine, phenytoin or St John's wort",
            "Pregnant women or women planning to conceive",
            "Active substance use that may interfere with adherence, as judged by the investigator",
            "Participation in any other investigational drug study within 30 days",
        ],
    },
    {
        "id": "DEMO0008",
        "title": "TMX-808 in resistant essential hypertension",
        "annotated": True,
        "inc": [
            "[Men|Person#m] and [women|Person#w] [40–80 years old|Value#v] :: AND m w; Has_value m v; Has_value w v",
            "[Essential hypertension|Condition#c] diagnosed [at least 12 months before|Temporal#t]"
            " [screening|Reference_point#r] :: Has_temporal c t; Has_index t r",
            "[Mean|Qualifier#q] [seated|Qualifier#s] [office systolic blood pressure|Measurement#m]"
            " [≥ 140 mmHg and < 180 mmHg|Value#v] at [Visit 2|Visit]"
            " :: Has_qualifier m q; Has_qualifier m s; Has_value m v",
            "Mean [24-hour ambulatory systolic blood pressure|Measurement#m] [≥ 130 mmHg|Value#v] :: Has_value m v",
            "Treated with [at least two|Multiplier#x] [antihypertensive drugs|Drug#d] from different classes at"
            " [stable doses|Qualifier#q] [for ≥ 4 weeks|Temporal#t]"
            " :: Has_multiplier d x; Has_qualifier d q; Has_temporal d t",
            "[Willing to|Mood#m] discontinue [current|Temporal#c] [antihypertensive medication|Drug#d] during a"
            " [2-week washout period|Temporal#t] :: Has_mood d m; Has_temporal d c; Has_temporal d t",
            "[Able to|Mood#m] operate a [validated home [blood pressure|Measurement] monitor|Device#d]"
            " :: Has_mood d m",
            "Provision of [written informed consent|Procedure]",
        ],
        "exc": [
            "[Secondary hypertension|Condition#s] of any cause, e.g. [renal artery stenosis|Condition#a],"
            " [primary aldosteronism|Condition#b] or [phaeochromocytoma|Condition#c]"
            " :: Subsumes s a; Subsumes s b; Subsumes s c; OR a b c",
            "[Office systolic BP|Measurement#s] [≥ 180 mmHg|Value#a] or [diastolic BP|Measurement#d]"
            " [≥ 110 mmHg|Value#b] at any [screening visit|Visit] :: Has_value s a; Has_value d b; OR s d",
            "[Renal|Condition#r] or [hepatic [impairment|Condition#r]|Condition#h] ([eGFR|Measurement#e]"
            " [< 30 mL/min/1.73 m²|Value#v] or [Child-Pugh class|Measurement#c] [C|Value#w])"
            " :: OR r h; Subsumes r e; Subsumes h c; Has_value e v; Has_value c w",
            "[Myocardial infarction|Condition#a], [coronary revascularisation|Procedure#b] or [stroke|Condition#c]"
            " [within the previous 6 months|Temporal#t]"
            " :: OR a b c; Has_temporal a t; Has_temporal b t; Has_temporal c t",
            "[History|Temporal#h] of [angioedema|Condition#a], including"
            " [[ACE inhibitor|Drug]-induced angioedema|Condition#b] :: Has_temporal a h; Subsumes a b",
            "[Serum sodium|Measurement#a] [< 130 mmol/L|Value#v] or [serum potassium|Measurement#b]"
            " [> 5.5 mmol/L|Value#w] :: Has_value a v; Has_value b w; OR a b",
            "[Night-shift work|Observation] or any other condition that prevents reliable"
            " [24-hour ambulatory BP monitoring|Procedure]",
            "[Upper-arm circumference|Measurement#m] [> 42 cm|Value#v] :: Has_value m v",
            "[Alcohol intake|Observation#a] of [more than 21 units per week|Value#v] or [known|Mood#k]"
            " [drug abuse|Condition#d] :: Has_value a v; Has_mood d k; OR a d",
            "[Pregnant|Condition#a] or [nursing|Observation#b] women, or"
            " [women of childbearing potential|Person] [not|Negation#n] using [adequate|Qualifier#q]"
            " [contraception|Procedure#c] :: OR a b; Has_negation c n; Has_qualifier c q",
        ],
    },
    {
        "id": "DEMO0009",
        "title": "TMX-909 triple inhaler in COPD with frequent exacerbations",
        "annotated": False,
        "inc": [
            "Current or former smokers aged 40 years or older with a smoking history of ≥ 10 pack-years",
            "Clinical diagnosis of COPD for at least 1 year",
            "Post-bronchodilator FEV₁/FVC < 0.70 and FEV₁ 30–70% of predicted at Visit 1",
            "At least one moderate or severe COPD exacerbation in the 12 months before screening",
            "COPD Assessment Test score ≥ 10 at screening",
            "Receiving maintenance triple or dual inhaled therapy for ≥ 3 months",
            "Able to perform acceptable and reproducible spirometry",
            "Able to use a dry-powder inhaler correctly after training",
        ],
        "exc": [
            "Current diagnosis of asthma or of asthma–COPD overlap",
            "α1-antitrypsin deficiency as the cause of COPD",
            "COPD exacerbation or pneumonia requiring antibiotics or systemic corticosteroids within 6 weeks"
            " before Visit 1",
            "Long-term oxygen therapy for > 15 hours/day, or non-invasive ventilation at home",
            "Lung volume reduction surgery or endobronchial valve placement within 12 months",
            "Pulmonary rehabilitation started within 4 weeks before screening",
            "Lung cancer or active tuberculosis",
            "Resting SpO₂ < 88% on room air",
            "Narrow-angle glaucoma, urinary retention or bladder-neck obstruction",
            "Unable to withhold short-acting bronchodilators for 6 hours before spirometry",
        ],
    },
    {
        "id": "DEMO0010",
        "title": "Adjunctive TMX-010 in treatment-resistant major depressive disorder",
        "annotated": False,
        "inc": [
            "Outpatients aged 18–65 years",
            "Primary diagnosis of major depressive disorder, single or recurrent episode, per DSM-5, confirmed by a"
            " structured interview",
            "Current depressive episode lasting ≥ 8 weeks and ≤ 24 months",
            "MADRS total score ≥ 26 at screening and at baseline",
            "Inadequate response to at least two antidepressants, each given at an adequate dose for ≥ 6 weeks"
            " during the current episode",
            "Willing to stop prohibited psychotropic medications at least 2 weeks before baseline",
            "Has a caregiver or family member whom the study site may contact",
            "Capable of giving informed consent and of completing self-rated questionnaires in the local language",
        ],
        "exc": [
            "Bipolar disorder, schizophrenia or any other psychotic disorder",
            "Current psychotic features, or psychosis during any previous depressive episode",
            "Significant suicide risk, i.e. suicidal ideation with intent or any suicidal behaviour in the past"
            " 12 months",
            "Substance use disorder (except nicotine or caffeine) within 6 months before screening",
            "Electroconvulsive therapy, transcranial magnetic stimulation or vagus nerve stimulation during the"
            " current episode",
            "Treatment with esketamine or ketamine at any time",
            "History of seizures, other than a single febrile seizure in childhood",
            "Clinically significant abnormal ECG, including QTcF ≥ 450 ms in men or ≥ 470 ms in women",
            "Uncontrolled hypothyroidism (TSH > 1.5 × ULN)",
            "Psychotherapy started within 3 months before screening, or planned to start during the study",
        ],
    },
    {
        "id": "DEMO0011",
        "title": "Eight-week TMX-212 regimen in chronic hepatitis C",
        "annotated": False,
        "inc": [
            "Adults ≥ 18 years with chronic HCV infection (anti-HCV positive for ≥ 6 months)",
            "HCV RNA ≥ 10⁴ IU/mL at screening",
            "HCV genotype 1, 2, 3, 4, 5 or 6 determined at screening",
            "Treatment-naïve, or treatment-experienced with interferon-based therapy only",
            "No cirrhosis (liver stiffness ≤ 12.5 kPa by transient elastography within 6 months), or compensated"
            " cirrhosis (Child-Pugh A)",
            "Platelets ≥ 60 ×10⁹/L and albumin ≥ 30 g/L",
            "Willing to use effective contraception during treatment and for 30 days afterwards",
            "Agrees to return for the follow-up visit 12 weeks after the end of treatment",
        ],
        "exc": [
            "Decompensated liver disease, including ascites, hepatic encephalopathy or variceal bleeding",
            "Hepatocellular carcinoma, or a liver lesion suspicious for it on imaging within 6 months",
            "Co-infection with hepatitis B (HBsAg positive) or HIV",
            "Prior exposure to an NS5A inhibitor",
            "Liver transplant recipients",
            "eGFR < 30 mL/min/1.73 m², or on haemodialysis",
            "Total bilirubin > 34 µmol/L (2 mg/dL), unless due to Gilbert's syndrome",
            "Ongoing use of amiodarone or of strong P-gp inducers",
            "Active alcohol abuse (> 3 drinks/day) within 12 months",
            "Pregnant or breastfeeding women, or male partners of pregnant women",
        ],
    },
    {
        "id": "DEMO0012",
        "title": "TMX-111 for the prevention of episodic migraine",
        "annotated": True,
        "inc": [
            "[Aged|Person#p] [18 to 65 years|Value#v] [at the time of|Temporal#t] [consent|Reference_point#r]"
            " :: Has_value p v; Has_temporal p t; Has_index t r",
            "History of [[migraine|Condition] with or without aura|Condition#c] [for at least 12 months|Temporal#t]"
            " according to [ICHD-3 criteria|Observation#o] :: Has_temporal c t; Has_context c o",
            "Onset of [migraine|Condition#c] [before 50 years of age|Temporal#t] :: Has_temporal c t",
            "[4 to 14|Value#v] [migraine days per month|Measurement#m] [during the 3 months before|Temporal#t]"
            " [screening|Reference_point#r] :: Has_value m v; Has_temporal m t; Has_index t r",
            "[Fewer than 15|Value#v] [headache days per month|Measurement#m] [during the baseline period|Temporal#t]"
            " :: Has_value m v; Has_temporal m t",
            "[Completion of the electronic headache diary|Procedure#p] on [≥ 80% of days|Value#v]"
            " [during the 28-day baseline|Temporal#t] :: Has_value p v; Has_temporal p t",
            "[Stable dose|Qualifier#q] of [preventive medication|Drug#d], [if any|Mood#m],"
            " [for ≥ 3 months before|Temporal#t] [screening|Reference_point#r]"
            " :: Has_qualifier d q; Has_mood d m; Has_temporal d t; Has_index t r",
            "[Agrees to|Mood#m] [avoid|Negation#n] [new|Qualifier#q] [migraine preventive treatments|Drug#d]"
            " [throughout the study|Temporal#t] :: Has_mood d m; Has_negation d n; Has_qualifier d q;"
            " Has_temporal d t",
        ],
        "exc": [
            "[Cluster headache|Condition#a], [hemiplegic migraine|Condition#b] or"
            " [medication-overuse headache|Condition#c] :: OR a b c",
            "[Failure|Observation#f] of [more than two|Multiplier#x] classes of [migraine preventive drugs|Drug#d]"
            " because of [lack of efficacy|Observation#e] :: Has_multiplier d x; Has_context d f; Has_context d e",
            "Use of [onabotulinumtoxinA|Drug#d] in the [head|Qualifier#h] or [neck region|Qualifier#k]"
            " [within 4 months before|Temporal#t] [screening|Reference_point#r]"
            " :: Has_qualifier d h; Has_qualifier d k; OR h k; Has_temporal d t; Has_index t r",
            "[Prior|Temporal#t] exposure to any [monoclonal antibody targeting the CGRP pathway|Drug#d]"
            " :: Has_temporal d t",
            "Use of [opioids|Drug#a] or [barbiturates|Drug#b] on [more than 4 days per month|Multiplier#x]"
            " :: Has_multiplier a x; Has_multiplier b x; OR a b",
            "[Clinically significant|Qualifier#q] [cardiovascular disease|Condition#c], including"
            " [myocardial infarction|Condition#a] or [stroke|Condition#b] [within 12 months|Temporal#t]"
            " :: Has_qualifier c q; Subsumes c a; Subsumes c b; OR a b; Has_temporal a t; Has_temporal b t",
            "[Uncontrolled hypertension|Condition#c] ([systolic|Measurement#s] [≥ 160 mmHg|Value#a] or"
            " [diastolic|Measurement#d] [≥ 100 mmHg|Value#b]) [at screening|Temporal#t]"
            " :: Subsumes c s; Subsumes c d; Has_value s a; Has_value d b; OR s d; Has_temporal c t",
            "[Major depressive disorder|Condition#m] with a [PHQ-9 score|Measurement#p] [≥ 15|Value#v], or any"
            " [suicidal ideation|Condition#s] [with intent|Qualifier#q] [within 6 months|Temporal#t]"
            " :: Has_value p v; AND m p; OR m s; Has_qualifier s q; Has_temporal s t",
            "[Pregnancy|Condition#a], [lactation|Observation#b], or [intention to|Mood#m] become"
            " [pregnant|Condition#c] [during the study|Temporal#t] :: OR a b c; Has_mood c m; Has_temporal c t",
            "[Body weight|Measurement#w] [< 45 kg|Value#a] or [body mass index|Measurement#b] [> 40 kg/m²|Value#c]"
            " :: Has_value w a; Has_value b c; OR w b",
        ],
    },
    {
        "id": "DEMO0013",
        "title": "Once-weekly TMX-313 for weight management in adults with obesity",
        "annotated": False,
        "inc": [
            "Adults aged 18–70 years",
            "BMI ≥ 30 kg/m², or ≥ 27 kg/m² with at least one weight-related comorbidity (hypertension,"
            " dyslipidaemia, obstructive sleep apnoea or cardiovascular disease)",
            "At least one unsuccessful dietary attempt to lose weight, by self-report",
            "Stable body weight (change < 5 kg) during the 90 days before screening",
            "HbA1c < 6.5% at screening",
            "Willing to follow a reduced-calorie diet and to increase physical activity for the whole study",
            "Able to self-inject with a pen device after training",
            "Signed informed consent before any study activity",
        ],
        "exc": [
            "Type 1 or type 2 diabetes mellitus",
            "Previous or planned bariatric surgery, or an intragastric balloon in place",
            "Use of any medication for weight loss within 90 days before screening",
            "Personal or family history of medullary thyroid carcinoma or multiple endocrine neoplasia type 2",
            "History of acute or chronic pancreatitis",
            "Calcitonin ≥ 50 ng/L at screening",
            "Major depressive disorder within 2 years, or PHQ-9 score ≥ 15 at screening",
            "Any lifetime history of a suicide attempt",
            "Resting heart rate > 100 beats/min",
            "Treatment with a systemic glucocorticoid for > 14 days within 3 months before screening",
        ],
    },
]


# ----------------------------------------------------------------------------------------------------------
# Markup parser
# ----------------------------------------------------------------------------------------------------------
class MarkupError(ValueError):
    pass


@dataclass
class Mention:
    key: str  # sentence-local id ("#id" or an automatic one)
    type: str
    fragments: list = field(default_factory=list)  # [(start, end)] offsets into the sentence

    @property
    def sort_key(self):
        first = min(self.fragments)
        last = max(e for _, e in self.fragments)
        return (first[0], -last, self.type, self.key)


@dataclass
class Sentence:
    text: str
    mentions: list  # [Mention], ordered by position
    relations: list  # [(type, head_key, tail_key)]
    groups: list  # [("OR", [keys])]


def parse_criterion(markup: str) -> Sentence:
    if "::" in markup:
        body, _, rel_part = markup.partition("::")
        body = body.rstrip()
    else:
        body, rel_part = markup, ""
    text_chars: list = []
    stack: list = []  # start offsets of open brackets
    by_key: dict = {}
    auto = 0
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "[":
            stack.append(len(text_chars))
            i += 1
        elif ch == "|":
            if not stack:
                raise MarkupError(f"'|' outside a bracket in {markup!r}")
            close = body.find("]", i)
            if close < 0:
                raise MarkupError(f"unclosed label in {markup!r}")
            label = body[i + 1 : close]
            start = stack.pop()
            end = len(text_chars)
            etype, _, key = label.partition("#")
            if not etype or " " in etype:
                raise MarkupError(f"bad label {label!r} in {markup!r}")
            if not key:
                auto += 1
                key = f"_auto{auto}"
            if end <= start:
                raise MarkupError(f"empty span for {label!r} in {markup!r}")
            m = by_key.get(key)
            if m is None:
                by_key[key] = Mention(key, etype, [(start, end)])
            else:
                if m.type != etype:
                    raise MarkupError(f"fragments of #{key} have types {m.type} and {etype} in {markup!r}")
                m.fragments.append((start, end))
            i = close + 1
        elif ch == "]":
            raise MarkupError(f"stray ']' in {markup!r}")
        else:
            text_chars.append(ch)
            i += 1
    if stack:
        raise MarkupError(f"unclosed '[' in {markup!r}")
    text = "".join(text_chars)
    for m in by_key.values():
        m.fragments.sort()
        for (_, e1), (s2, _) in zip(m.fragments, m.fragments[1:], strict=False):
            if s2 < e1:
                raise MarkupError(f"overlapping fragments of #{m.key} in {markup!r}")
        for s, e in m.fragments:
            frag = text[s:e]
            if frag != frag.strip():
                raise MarkupError(f"fragment {frag!r} of #{m.key} has outer whitespace in {markup!r}")
    relations, groups = [], []
    for spec in filter(None, (s.strip() for s in rel_part.split(";"))):
        parts = spec.split()
        for k in parts[1:]:
            if k not in by_key:
                raise MarkupError(f"relation {spec!r} refers to unknown id {k!r} in {markup!r}")
        if parts[0] == "OR":
            if len(parts) < 3:
                raise MarkupError(f"OR group needs ≥ 2 members: {spec!r}")
            groups.append(("OR", parts[1:]))
        else:
            if len(parts) != 3:
                raise MarkupError(f"relation needs type head tail: {spec!r}")
            relations.append((parts[0], parts[1], parts[2]))
    mentions = sorted(by_key.values(), key=lambda m: m.sort_key)
    return Sentence(text, mentions, relations, groups)


def check_plain(text: str, where: str) -> None:
    for bad in ("[", "]", "|", "::", "\n", "\r", "\t"):
        if bad in text:
            raise MarkupError(f"{where}: plain criterion contains {bad!r}: {text!r}")


# ----------------------------------------------------------------------------------------------------------
# BRAT writer
# ----------------------------------------------------------------------------------------------------------
def build_file(criteria: list, annotated: bool, where: str):
    """Return (txt, ann, stats) for one list of criteria."""
    sentences = []
    for n, c in enumerate(criteria, 1):
        if annotated:
            sentences.append(parse_criterion(c))
        else:
            check_plain(c, f"{where} line {n}")
            sentences.append(Sentence(c, [], [], []))
    for n, s in enumerate(sentences, 1):
        if s.text != s.text.strip() or not s.text or "  " in s.text:
            raise MarkupError(f"{where} line {n}: bad whitespace in {s.text!r}")
        if any(ch in s.text for ch in "\n\r\t"):
            raise MarkupError(f"{where} line {n}: control character in {s.text!r}")
    txt = "".join(s.text + "\n" for s in sentences)
    t_lines, r_lines, g_lines = [], [], []
    stats = {"mentions": 0, "relations": 0, "groups": 0, "discontinuous": 0}
    t_n = r_n = 0
    offset = 0
    for s in sentences:
        ids = {}
        for m in s.mentions:
            t_n += 1
            ids[m.key] = f"T{t_n}"
            spans = ";".join(f"{offset + a} {offset + b}" for a, b in m.fragments)
            shown = " ".join(s.text[a:b] for a, b in m.fragments)
            t_lines.append(f"T{t_n}\t{m.type} {spans}\t{shown}\n")
            stats["mentions"] += 1
            stats["discontinuous"] += len(m.fragments) > 1
        for rtype, h, t in s.relations:
            r_n += 1
            # Chia writes a trailing TAB after the arguments; so does this corpus.
            r_lines.append(f"R{r_n}\t{rtype} Arg1:{ids[h]} Arg2:{ids[t]}\t\n")
            stats["relations"] += 1
        for gtype, members in s.groups:
            g_lines.append(f"*\t{gtype} " + " ".join(ids[k] for k in members) + "\n")
            stats["groups"] += 1
        offset += len(s.text) + 1
    ann = "".join(t_lines + r_lines + g_lines)
    return txt, ann, sentences, stats


def build_all() -> tuple:
    files = {}
    totals = {
        "trials": 0,
        "annotated_trials": 0,
        "sentences": 0,
        "annotated_sentences": 0,
        "mentions": 0,
        "relations": 0,
        "groups": 0,
        "discontinuous": 0,
    }
    ids = set()
    for trial in TRIALS:
        if trial["id"] in ids:
            raise MarkupError(f"duplicate trial id {trial['id']}")
        ids.add(trial["id"])
        totals["trials"] += 1
        totals["annotated_trials"] += bool(trial["annotated"])
        for part in ("inc", "exc"):
            name = f"{trial['id']}_{part}"
            txt, ann, sentences, stats = build_file(trial[part], trial["annotated"], name)
            files[name + ".txt"] = txt
            files[name + ".ann"] = ann
            totals["sentences"] += len(sentences)
            if trial["annotated"]:
                totals["annotated_sentences"] += len(sentences)
            for k in ("mentions", "relations", "groups", "discontinuous"):
                totals[k] += stats[k]
    return files, totals


# ----------------------------------------------------------------------------------------------------------
# Independent verification of the BRAT files (reads them back like an importer would)
# ----------------------------------------------------------------------------------------------------------
def verify_pair(name: str, txt: str, ann: str, schema: dict) -> list:
    errors = []
    etypes = {e["name"] for e in schema["entity_types"]}
    rtypes = {r["name"]: r for r in schema["relation_types"]}
    if "\r" in txt:
        errors.append(f"{name}.txt: CR characters (must be LF only)")
    if txt and not txt.endswith("\n"):
        errors.append(f"{name}.txt: no trailing newline")
    line_starts = [0]
    for i, ch in enumerate(txt):
        if ch == "\n":
            line_starts.append(i + 1)
    ents = {}
    seen_ids = set()
    for ln, line in enumerate(ann.split("\n")[:-1] if ann else [], 1):
        where = f"{name}.ann:{ln}"
        cols = line.split("\t")
        if cols[0] in seen_ids and cols[0] != "*":
            errors.append(f"{where}: duplicate id {cols[0]}")
        seen_ids.add(cols[0])
        if cols[0].startswith("T"):
            if len(cols) != 3:
                errors.append(f"{where}: T line needs 3 columns")
                continue
            etype, _, spans = cols[1].partition(" ")
            if etype not in etypes:
                errors.append(f"{where}: entity type {etype!r} not in schema")
            frags, lines_of = [], set()
            for sp in spans.split(";"):
                a, b = (int(x) for x in sp.split())
                if not 0 <= a < b <= len(txt):
                    errors.append(f"{where}: span {a} {b} out of range")
                if "\n" in txt[a:b]:
                    errors.append(f"{where}: span {a} {b} crosses a line break")
                frags.append(txt[a:b])
                lines_of.add(bisect.bisect_right(line_starts, a))
            if len(lines_of) > 1:
                errors.append(f"{where}: fragments on different lines")
            if " ".join(frags) != cols[2]:
                errors.append(f"{where}: text column {cols[2]!r} != fragments {' '.join(frags)!r}")
            ents[cols[0]] = etype
        elif cols[0].startswith("R"):
            if len(cols) != 3 or cols[2] != "":
                errors.append(f"{where}: R line must be 'R<n>\\t<type> Arg1:T Arg2:T\\t'")
                continue
            rtype, a1, a2 = cols[1].split()
            h, t = a1[len("Arg1:") :], a2[len("Arg2:") :]
            if rtype not in rtypes:
                errors.append(f"{where}: relation type {rtype!r} not in schema")
                continue
            if h not in ents or t not in ents:
                errors.append(f"{where}: relation argument not defined before use")
                continue
            spec = rtypes[rtype]
            if spec["allowed_heads"] is not None and ents[h] not in spec["allowed_heads"]:
                errors.append(f"{where}: {rtype} head type {ents[h]} not allowed")
            if spec["allowed_tails"] is not None and ents[t] not in spec["allowed_tails"]:
                errors.append(f"{where}: {rtype} tail type {ents[t]} not allowed")
        elif cols[0] == "*":
            members = cols[1].split()
            if members[0] != "OR" or len(members) < 3 or any(m not in ents for m in members[1:]):
                errors.append(f"{where}: bad group line {line!r}")
        else:
            errors.append(f"{where}: unknown line {line!r}")
    return errors


def verify_dir(directory: Path, schema: dict) -> list:
    errors = []
    names = sorted({p.stem for p in directory.glob("*.txt")} | {p.stem for p in directory.glob("*.ann")})
    for name in names:
        t, a = directory / f"{name}.txt", directory / f"{name}.ann"
        if not (t.exists() and a.exists()):
            errors.append(f"{name}: .txt/.ann pair incomplete")
            continue
        with open(t, encoding="utf-8", newline="") as f:
            txt = f.read()
        with open(a, encoding="utf-8", newline="") as f:
            ann = f.read()
        errors += verify_pair(name, txt, ann, schema)
    return errors


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="verify the files on disk, write nothing")
    ap.add_argument("--out", type=Path, default=CORPUS_DIR, help="output folder (default: %(default)s)")
    args = ap.parse_args(argv)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    files, totals = build_all()
    out: Path = args.out
    errors = []
    if args.check:
        for fname, content in files.items():
            p = out / fname
            if not p.exists():
                errors.append(f"missing {p}")
                continue
            with open(p, encoding="utf-8", newline="") as f:
                if f.read() != content:
                    errors.append(f"{p} differs from what build_demo.py generates")
        extra = {p.name for p in out.glob("*") if p.is_file()} - set(files)
        errors += [f"unexpected file {out / n}" for n in sorted(extra)]
    else:
        out.mkdir(parents=True, exist_ok=True)
        for p in out.glob("DEMO*_*.*"):
            if p.name not in files:
                p.unlink()
        for fname, content in sorted(files.items()):
            with open(out / fname, "w", encoding="utf-8", newline="") as f:
                f.write(content)
    errors += verify_dir(out, schema)
    for e in errors:
        print("ERROR:", e, file=sys.stderr)
    print(" ".join(f"{k}={v}" for k, v in totals.items()))
    if errors:
        return 1
    print(f"OK: {len(files) // 2} .txt/.ann pairs in {out} verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
