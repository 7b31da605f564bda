# ruff: noqa: E501  (prose fragments: splitting sentences across lines hurts reviewing them)
"""Hand-written fragments the corpus generator composes into messages (see DATA.md).

Every pool is a list; ``generate.fragment_split`` puts every fifth item (index 4, 9, 14, ...) in
the *test* group and the rest in *train*, so held-out messages are built only from fragments and
templates that training never saw. Placeholders: {problem} a clause ("the kitchen tap is
dripping"), {Problem} the same capitalised, {ago} a recent time phrase, {staff} a staff name,
{day} a weekday, {addr} an address, {name} a resident name, {ref} a reference.
"""

from __future__ import annotations

# --- people and places -------------------------------------------------------------------------

FIRST_NAMES = [
    "Joan", "Dave", "Priya", "Tomasz", "Sharon", "Kwame", "Linda", "Mohammed", "Stacey", "Gary",
    "Agnieszka", "Paul", "Fatima", "Kevin", "Bernadette", "Olu", "Chloe", "Darren", "Aisha",
    "Maureen", "Liam", "Sandra", "Nkechi", "Terry", "Rebecca", "Imran", "Jade", "Colin", "Yusuf",
    "Pauline", "Ryan", "Hannah", "Marek", "Denise", "Shaun", "Leanne", "Ravi", "Gemma", "Bilal",
    "Sheila",
]  # fmt: skip
SURNAMES = [
    "Reid", "Patel", "Kowalski", "O'Brien", "Mensah", "Hughes", "Begum", "Clarke", "Nowak",
    "Thompson", "Okafor", "Walsh", "Ahmed", "Evans", "Murphy", "Singh", "Baker", "Adeyemi",
    "Davies", "Hussain", "Price", "Wilson", "Khan", "Fletcher", "Lewandowski", "Green", "Ali",
    "Bennett", "Osei", "Harris",
]  # fmt: skip
STAFF = [
    "Sarah", "Michelle", "Jason", "Karen Wood", "Tom", "Jenny", "Mr Lewis", "Becky", "Amir",
    "Claire", "Steve", "Nadia", "Mark Dobson", "Lucy", "Dean", "Mrs Grant", "Paula", "Ian", "Zoe",
    "Femi",
]  # fmt: skip
STREETS = [
    "Elm Court", "Marlowes", "Longlands", "Bennetts End Road", "Queensway", "Cupid Green Lane",
    "Grovehill Road", "Adeyfield Road", "Belswains Lane", "Chaulden Terrace", "Leverstock Green Way",
    "Warners End Road", "St Albans Hill", "Windmill Road", "Gadebridge Lane", "Highfield Way",
    "Tring Road", "Kings Road", "Gaddesden Crescent", "Nash Mills Lane",
]  # fmt: skip
TOWNS = ["Hemel Hempstead", "Watford", "St Albans", "Berkhamsted", "Tring", "Kings Langley"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]

# --- openings and sign-offs --------------------------------------------------------------------

OPENINGS = [
    "", "Hi,", "Hello,", "Dear Sir/Madam,", "Dear Thrive,", "Good morning,", "Hiya", "",
    "To whom it may concern,", "Dear Sir or Madam,", "Hello there,", "Afternoon,", "",
    "Dear Housing Team,", "Hi there", "Dear Complaints Team,", "Hello Thrive Homes,", "Morning",
    "Good afternoon,", "Dear Customer Services,",
]  # fmt: skip
LONG_OPENINGS = [
    "Dear Sir or Madam,\n\nI hope this email finds you well. I am sorry to trouble you but I did "
    "not know who else to write to, so I am writing to you today.",
    "Good morning,\n\nI hope you are keeping well. I have been a tenant with you for many years and "
    "have never had cause to write like this before, but here goes.",
    "Dear Thrive Homes,\n\nFirst of all thank you for taking the time to read this, I know you are "
    "all very busy and I do appreciate the work your staff do.",
    "Hello,\n\nI'm sorry this is a long email, I wanted to make sure I put everything down so you "
    "have the full picture.",
    "Dear Customer Services Team,\n\nI trust you are well. Please could this email be passed to the "
    "right department as I am not sure who deals with this.",
]
SIGN_OFFS = [
    "Thanks\n{name}", "Kind regards,\n{name}", "Regards\n{name}", "{name}", "Many thanks,\n{name}",
    "Yours faithfully,\n{name}", "Thank you\n{first}", "Cheers\n{first}", "thanks {first}",
    "Yours sincerely\n{name}\n{addr}", "Best wishes,\n{name}", "", "Sent from my iPhone",
    "Thanks in advance\n{name} ({addr})", "Regards,\n{name}\nFlat {flat}, {addr}", "Ta\n{first}",
    "Kind Regards\n{name}\nTenant at {addr}", "Thank you for your help\n{first}",
    "{first}\nSent from my Galaxy", "Many thanks in advance,\n{name}\nTel 07{phone}",
]  # fmt: skip

# --- problems (clauses) by topic; tagged with flags where they imply one -------------------------
# Each entry: (topic, clause, flags). Flags: "building_safety".

PROBLEMS: list[tuple[str, str, tuple[str, ...]]] = [
    ("repairs", "the kitchen tap is dripping constantly", ()),
    ("damp", "there is black mould spreading across the bedroom ceiling", ()),
    ("heating", "the boiler keeps cutting out and we have no hot water", ()),
    ("communal", "the lights in the communal stairwell are not working", ()),
    ("safety", "there is a strong smell of gas in the kitchen", ("building_safety",)),
    ("repairs", "the back door lock is broken and the door won't shut properly", ()),
    ("damp", "water is coming through the bathroom ceiling from the flat above", ()),
    ("heating", "two of the radiators upstairs are stone cold", ()),
    ("communal", "the lift in our block has been out of action", ()),
    (
        "safety",
        "the socket in the living room is sparking when anything is plugged in",
        ("building_safety",),
    ),
    ("repairs", "the toilet cistern is cracked and leaking onto the floor", ()),
    ("damp", "the walls in my son's bedroom are wet to the touch and the wallpaper is peeling", ()),
    ("heating", "the heating only comes on for an hour and then shuts down", ()),
    ("communal", "the bin store at the back of the block is overflowing and attracting rats", ()),
    (
        "safety",
        "the fire door on our landing doesn't close on its own anymore",
        ("building_safety",),
    ),
    ("repairs", "the window in the front bedroom won't close and there is a draught", ()),
    ("damp", "the condensation on the windows is so bad the sills are rotting", ()),
    ("heating", "the hot water is lukewarm at best and the boiler makes a banging noise", ()),
    ("communal", "the entry door to the block doesn't lock so anyone can walk in", ()),
    ("safety", "the smoke alarm in the hallway has stopped working", ("building_safety",)),
    ("repairs", "the kitchen sink is blocked and smells awful", ()),
    ("damp", "there is a damp patch above the front door that keeps growing", ()),
    ("heating", "the storage heaters don't hold any heat overnight", ()),
    ("communal", "the communal garden hasn't been cut and is full of rubbish", ()),
    ("safety", "part of the kitchen ceiling came down after the leak", ("building_safety",)),
    ("repairs", "the bath panel has come off and the sealant is black", ()),
    ("pests", "we have mice in the kitchen cupboards", ()),
    ("repairs", "the gutter at the front is hanging off and overflows when it rains", ()),
    ("pests", "there are cockroaches coming out from behind the cooker", ()),
    (
        "safety",
        "there are exposed wires hanging out of the hallway light fitting",
        ("building_safety",),
    ),
]

# --- service requests ----------------------------------------------------------------------------

REQUEST_FRAMES = [
    "I'd like to report a repair please. {Problem}. Could someone come and have a look?",
    "Can you send someone out, {problem}.",
    "Just to let you know {problem}. It started {ago}. When can someone come?",
    "{Problem}. Please can you book an appointment, I'm in most days after {time}.",
    "I need to report that {problem}. What's the earliest you can get someone here?",
    "Could I book a repair? {Problem}, noticed it {ago}.",
    "Hi I'm reporting {problem}. I've not reported it before. Let me know when someone can come.",
    "{Problem}, can someone come and fix it please.",
    "Please could you arrange for someone to look at this, {problem}.",
    "Reporting a new repair: {problem}. Thanks for your help.",
    "Would it be possible to get an engineer out? {Problem}.",
    "{Problem}. First time it has happened. Can you let me know what to do?",
    "I think {problem}, would someone be able to come and check?",
    "Hello, {problem} and I wondered if you could send a plumber or whoever deals with it.",
    "New repair for flat {flat}: {problem}. I work shifts so mornings are best.",
]
REQUEST_COMPLAINT_WORD_FRAMES = [
    # The word "complaint" used for what is really a first request (near miss, label service_request).
    "I want to make a complaint that {problem}. Can you send someone round to fix it please.",
    "Complaint: {problem}. It only started {ago}, please can I book a repair.",
    "I'm complaining because {problem}, can somebody come out this week?",
    "I wish to complain that {problem}. I haven't reported it before. Please arrange a repair.",
    "Just a quick complaint, {problem} since {ago}. Can you book someone in?",
    "I need to log a complaint about {problem}, not reported before, please send someone.",
    "I have a complaint, {problem}. Who do I speak to to get it fixed?",
    "This is a complaint about {problem}. Can someone come and look at it please, first time "
    "I've had to ask.",
    "Making a complaint: {problem}. Please get it sorted, it started {ago}.",
    "Hi I would like to put in a complaint - {problem}. Can you arrange a repair?",
]
INFO_REQUESTS = [
    "Please can you send me a copy of my rent statement for the last six months, I need it for "
    "my Universal Credit claim.",
    "I'd like to know how to apply for a mutual exchange, is there a form?",
    "Can I have permission to put up a shed in my back garden? It would be about 6ft by 4ft.",
    "My partner has moved in with me and I want to add him to the tenancy, how do I do that?",
    "What day is the communal cleaning done in our block? I'd like to move my bike before then.",
    "Could you tell me how much my rent will be from April please.",
    "I've changed my phone number, the new one is 07{phone}. Please update my details.",
    "Can I get a parking permit for the residents' car park? My registration is {reg}.",
    "I'd like to set up a direct debit for my rent. How do I do this?",
    "Is it ok if I paint the living room a different colour? Just checking before I start.",
    "Could someone tell me who I contact about getting a key fob for the bin store.",
    "I'm going into hospital for a planned operation next month, do I need to tell you anything "
    "about my rent while I'm in?",
    "Can you send me the form for a succession of tenancy please, my mum passed away last month.",
    "I'd like to book a viewing of the garage that is advertised on your website.",
    "Please can you confirm my tenancy start date, the bank needs it.",
    "How do I get a replacement fob for the main door? I've lost mine.",
    "I would like to request a copy of the gas safety certificate for my property.",
    "Can someone come and assess my mum's bathroom for a walk-in shower? She struggles with the bath.",
    "Do I need your permission to have a dishwasher plumbed in?",
    "Please could you send me the service charge breakdown for this year.",
]  # fmt: skip

# --- complaints ----------------------------------------------------------------------------------

FAILURES = [
    "nobody has been out",
    "the contractor turned up without the right parts and never came back",
    "I've been given three appointments and every one was cancelled on the day",
    "your operative looked at it for five minutes and said it was fine, which it isn't",
    "I was told someone would ring me back and nobody did",
    "the job was closed on your system even though nothing was done",
    "I took a day off work for the appointment and no one turned up",
    "the so-called repair lasted two days and now it's worse than before",
    "every time I ring I get passed around and have to explain it all again",
    "I've been promised a surveyor visit twice and it never happened",
    "the engineer said he'd order a part and I've heard nothing since",
    "they painted over the mould instead of dealing with the cause",
    "I've emailed four times and not had a single reply",
    "your contractor left a mess and damaged my flooring",
    "the appointment letter came after the date it was booked for",
]
COMPLAINT_FRAMES = [
    "I reported {ago} that {problem} and {failure}.",
    "This is the third time I'm chasing this. {Problem} and {failure}.",
    "I am writing to complain. {Problem}, I reported it {ago} and {failure}.",
    "{Problem}. I first told you {ago}, {failure}. This is not good enough.",
    "I'm really unhappy with how this has been handled. {Problem} and {failure}.",
    "Still waiting. {Problem}, reported {ago}, {failure}. I'm fed up.",
    "I'm making a formal complaint about the repairs service. {Problem} and {failure}.",
    "How many times do I have to tell you that {problem}? I reported it {ago} and {failure}.",
    "I'm disappointed with the service. {Problem}; I raised it {ago} and {failure}.",
    "Nothing has been done. {Problem}, first reported {ago}. {Failure}.",
    "I have had enough of being ignored. {Problem} and {failure}.",
    "The way this repair has been dealt with is appalling. {Problem}, {failure}.",
    "I reported {ago} that {problem}. {Failure}. I shouldn't have to keep chasing.",
    "I don't normally complain but {problem} and {failure}. It's been {ago} now.",
    "Your repairs service has let me down. {Problem} and {failure}.",
]
OTHER_COMPLAINTS = [
    # Complaints not about a repair: staff conduct, charges, communication, ASB handling.
    "The officer who came to do my tenancy visit, {staff}, was rude and spoke down to me in front "
    "of my children. I felt humiliated.",
    "My rent account says I'm in arrears of £{amount} but I've paid every month by direct debit. "
    "I've asked for this to be corrected and keep getting letters threatening action.",
    "I reported my neighbour's dog barking and the threats he made to me {ago}. Your ASB officer "
    "{staff} said she'd call back and I've heard nothing. I feel completely let down.",
    "The service charge for communal cleaning has gone up again but the stairs haven't been cleaned "
    "in weeks. I'm paying for a service that isn't happening.",
    "{staff} in the contact centre put the phone down on me when I asked to speak to a manager.",
    "Your letter said my repair was completed, but nobody came. I want to know who signed it off.",
    "I was charged £{amount} for a repair that was your responsibility, I want the charge removed.",
    "Since the new caretaker started the communal areas are filthy and nobody responds to my emails.",
    "I asked for a call back about my transfer {ago} and still nothing, the online portal just says "
    "pending.",
    "Your contractor damaged my kitchen worktop while fitting the new boiler and refuses to pay.",
    "I reported drug dealing in the stairwell several times and nothing has been done by Thrive, "
    "the CCTV you promised never appeared.",
    "The surveyor {staff} promised in writing that my bathroom would be replaced this year. Now I'm "
    "told it's not in the programme. That's not acceptable.",
    "My complaint isn't the leak itself, it's that nobody keeps me informed. I never know when "
    "anyone is coming.",
    "The grass cutting contractor damaged my car window with a stone and when I reported it I got "
    "fobbed off.",
    "I was overcharged for my water rates for a year and your income team won't give me a straight "
    "answer.",
    "You sent my personal details to the wrong address. That's a data breach and I'm very upset.",
    "The new windows fitted last month let in more draught than the old ones. The fitters "
    "were careless and the finishing is poor.",
    "I have been waiting for a decision on my adaptations request for months and your "
    "occupational therapy referral was lost.",
    "Your staff member {staff} told my neighbour about my rent arrears. How dare you.",
    "I asked three times for a large print letter because of my eyesight and you keep sending "
    "small print.",
]  # fmt: skip
STAFF_MENTIONS = [
    "I spoke to {staff} in the contact centre on {day} who promised a call back that never came.",
    "{staff} from repairs told me it would be sorted within a week.",
    "Your officer {staff} came out and agreed it needed doing, but nothing since.",
    "I spoke with {staff} on the phone and she said she'd escalate it.",
    "The engineer, {staff}, said it was a job for a different trade and left.",
    "{staff} told me on {day} someone would be in touch.",
    "I dealt with {staff} last time, she was helpful but it's gone nowhere.",
    "I was told by {staff} that it was logged as urgent.",
    "The surveyor {staff} took photos and said he would order the work.",
    "I have a note that I spoke to {staff} on {day} about this.",
]
OUTCOMES = [
    "I want it fixed properly and some compensation for the time I've had to take off work.",
    "I would like a firm date for the repair and an apology.",
    "All I want is for someone to come and do the job properly.",
    "I'd like the charge removed from my account and a written apology.",
    "I expect a proper response and the work done within the next two weeks.",
    "Please can a manager call me to sort this out.",
    "I'd like compensation for the damage to my belongings.",
    "I want to be moved somewhere that isn't damp, my kids keep getting ill.",
    "I want a surveyor to inspect it and a plan in writing.",
    "I'd like a refund of the service charge for the months the cleaning wasn't done.",
    "I want someone senior to look into why this keeps happening.",
    "I'd like the job done and my carpet replaced.",
    "I'd like an explanation and to be kept updated from now on.",
    "I want the mould treated properly, not just painted over.",
    "Please put it right and tell me what you're doing so it doesn't happen to anyone else.",
]
FEELINGS = [
    "I'm at the end of my tether.", "This is affecting my sleep.", "I'm paying rent for this?",
    "It's just not acceptable.", "I feel like nobody listens.", "Honestly I give up.",
    "I'm really upset about this.", "It's a disgrace.", "I'm not being unreasonable here.",
    "This has gone on long enough.", "I'm sick of it.", "Nobody seems to care.",
    "I'm so stressed with it all.", "I'm losing patience.", "You should be ashamed.",
]  # fmt: skip
VULNERABILITY = [
    "I have COPD and the damp makes my breathing worse.",
    "My daughter is eight months pregnant.",
    "I'm disabled and use a wheelchair so I can't deal with this myself.",
    "I've got a newborn baby in the house.",
    "My husband is having chemotherapy and can't be in the cold.",
    "I suffer with my mental health and this is making it so much worse.",
    "My son is autistic and the noise and disruption is really hard for him.",
    "I'm 84 and live on my own.",
    "My little one has asthma and keeps ending up at the doctor's.",
    "I'm registered blind and rely on things working.",
]
ESCALATIONS = [
    "I've had your stage 1 response and I'm not happy with it. Please escalate my complaint to "
    "stage 2.",
    "I'd like my complaint to go to the next stage. The response didn't answer anything.",
    "Please escalate this. Your reply to my complaint {ref} is not acceptable.",
    "I am not satisfied with the outcome of my complaint {ref} and want it reviewed at stage 2.",
    "I want to take my complaint further. The stage one letter just repeated what I'd been told "
    "before.",
    "Can a senior manager review my complaint please, I disagree with the decision.",
    "Re complaint {ref}: I want this escalated. I don't have to give reasons but I will anyway.",
    "I'm unhappy with your response to my complaint and would like it escalated.",
    "Please treat this as my request for a stage 2 review of complaint {ref}.",
    "I want to escalate. Nothing in the stage 1 reply has actually happened.",
]
THREATS = [
    # Threatening court is not a filed claim: still a complaint (near miss with legal_proceedings).
    "If this isn't sorted by the end of the month I'll be taking you to court.",
    "I'm going to speak to a solicitor about this.",
    "One of those no win no fee firms has been in touch and I'm tempted.",
    "Don't make me take legal action, because I will.",
    "I'm considering a housing disrepair claim if nothing happens.",
    "My next step will be to see a solicitor.",
    "I will sue you if my son's health gets any worse.",
    "I know my rights and I'll go to court if I have to.",
    "I'll be taking legal advice.",
    "A friend says I should take this to court. I'd rather you just fixed it.",
]
ONGOING_FROM_OLD = [
    # Started long ago but ongoing: a complaint, not over_12_months (near miss, 2.3).
    "{Problem} ever since {old} and it's still not been fixed.",
    "This started {old} and it's still going on now.",
    "{Problem}. It began {old} and keeps coming back every few weeks.",
    "It has been like this since {old_since}. Still nothing done.",
    "{Problem}; it started {old} and continues to this day.",
    "I first reported it {old} and it has never been sorted, it's still there now.",
    "{Problem}, on and off since {old_since}, and it's getting worse.",
    "The problem dates back to {old} but it is still happening now.",
    "Since {old_since} {problem}. I'm still waiting.",
    "{Problem} and has been since {old_since}. It is ongoing.",
]
OLD_ISSUE_FRAMES = [
    # Over 12 months ago, not ongoing, no recent contact: excluded / over_12_months.
    "{Old_cap} your contractor damaged my fence while doing the roof. I never got it paid for and "
    "I want compensation for it.",
    "I want to complain about the way my transfer request was handled {old}. The officer was "
    "dismissive.",
    "{Old_cap} I was charged £{amount} for clearing the garden when I moved flats. I don't think "
    "that was fair and want it refunded.",
    "I'd like to raise a complaint about a repair {old}. The plumber flooded my kitchen and I had "
    "to throw out my washing machine.",
    "Something has bothered me for a long time. {Old_cap} a member of your staff was rude to me at "
    "the office. I'd like an apology.",
    "{Old_cap} the window fitters broke my blinds. I should have said at the time but I want them "
    "replaced.",
    "I'm writing about the decant {old} when my kitchen was being replaced. The temporary flat was "
    "dirty and I was out of pocket.",
    "My complaint is about the mess left after the rewire {old}. I had to pay to redecorate.",
    "{Old_cap} you took over two months to fix my boiler. I was never compensated for the "
    "electric heaters I had to run.",
    "I am owed money for the carpet that was ruined by the flood {old}. Please pay it.",
    "{Old_cap} my neighbour's tree fell on my shed and Thrive did nothing about it.",
    "I want to complain about the rent increase letter I got {old}, it was wrong and I paid too "
    "much for those months.",
    "{Old_cap} the caretaker threw away my bike from the bike store without warning.",
    "The handyman service visit {old} left my door scratched and I'd like it put right.",
    "I was unhappy with how my mum's tenancy was ended {old} after she died. Nobody explained "
    "anything to us.",
]
LEGAL_FILED = [
    "My solicitors have issued proceedings against Thrive in the County Court, claim number "
    "{claim}. Please direct all correspondence to them.",
    "Please note that the claim form and particulars of claim have been filed at court regarding "
    "the disrepair at {addr}. Claim no. {claim}.",
    "Further to my previous emails, I have now filed a claim at the county court about the damp. "
    "The claim number is {claim} and the hearing is listed for {month}.",
    "We act for your tenant {name} of {addr}. Proceedings were issued on {date} under claim "
    "reference {claim}. Kindly acknowledge.",
    "I have issued court proceedings for the damage to my belongings, claim no {claim}. I'll "
    "see you in court.",
    "The small claims court have sealed my claim form against you for the cost of my ruined "
    "furniture. Claim number {claim}.",
    "This is to let you know my housing disrepair case is now with the court, claim number "
    "{claim}, filed last week by Shelter's solicitor.",
    "My claim against Thrive has been issued at Watford County Court (claim {claim}). Please "
    "stop contacting me directly.",
    "Our client's claim form was served on you on {date}. Claim ref: {claim}. We await your "
    "defence.",
    "I have filed a claim with the court for personal injury after I fell on the broken step. "
    "Claim number {claim}.",
]
PREVIOUSLY_CONSIDERED = [
    "I'm raising again the complaint about my kitchen that you closed with your final response "
    "in {month_year}. I know it went through both stages but I still don't agree.",
    "This is the same complaint I made last year about the parking. You already investigated it "
    "at stage 1 and stage 2 and the Ombudsman looked at it too. I want it looked at again.",
    "I want to reopen complaint {ref}. You gave me your final answer and I accept I've been "
    "through the process, but I'd like a fresh investigation of the same points.",
    "Re-submitting my complaint about the boundary fence. Your stage 2 panel decided on it in "
    "{month_year}, the Housing Ombudsman found no maladministration, but I still think you're "
    "wrong.",
    "I'm writing about my old complaint {ref} again, the one that was closed after the final "
    "response. Same issue, same points, I just want a different person to look at it.",
    "Please reinvestigate the matter of my service charges for 2022. It was dealt with under your "
    "complaints process and the final decision was sent, but I'm raising it once more.",
    "I know you've already answered this complaint twice and the Ombudsman closed it, but I want "
    "to make the same complaint about the transfer decision again.",
    "My complaint {ref} was fully considered and closed. I am submitting it again word for word "
    "because I don't accept the outcome.",
    "Same complaint as before about the removal of my satellite dish. It was dealt with at both "
    "stages. I'd like to start it again.",
    "The Ombudsman has already made a determination on my complaint about the damp in 2023 and "
    "you complied with the orders. I want to complain about the same thing again.",
]
INSURANCE = [
    "I'd like to make a claim on your insurance for my sofa and rug that were ruined when the "
    "pipe burst in the flat above. Please send me the form.",
    "My contents insurer has asked me for the details of Thrive's insurers so they can recover "
    "what they paid out for the flood damage. Can you provide them?",
    "Please send me a public liability claim form, I tripped on the broken paving outside the "
    "block and hurt my wrist.",
    "The loss adjuster came round yesterday about the fire damage. Who do I send the receipts to "
    "for the insurance claim?",
    "I want to put in an insurance claim for my freezer contents after the power was cut off by "
    "your electrician for two days.",
    "Could you give me a reference for the insurance claim regarding the water damage to my "
    "bedroom? My own insurer needs it.",
    "How do I claim against your buildings insurance for the damage to my car from the falling "
    "tiles?",
    "I'm following up my insurance claim for the clothes damaged by the leak, I sent the photos "
    "and receipts.",
    "My insurance company says I need to claim through the landlord's insurance for the ceiling "
    "damage. What do I do?",
    "Please pass this to your insurers: my laptop was destroyed when water came through the "
    "light fitting. Receipts attached.",
]
LETTINGS = [
    "I've been on the housing register for four years and the council put me in band C. I "
    "think I should be in band B because of my medical needs. How do I appeal?",
    "I bid on the two bed flat on Queensway through Choice Based Lettings and was told I was "
    "bypassed. I want to know why.",
    "The council turned down my homeless application and said I'm not a priority. Can Thrive "
    "overrule them?",
    "Why was the property I bid for given to someone lower on the list? I had the highest "
    "priority date.",
    "I was offered a flat on the third floor but I can't manage stairs, and now the council "
    "says if I refuse I'll lose my banding.",
    "My housing application was suspended by the local authority because of old rent arrears. "
    "I want this reviewed.",
    "I'd like to challenge the decision not to shortlist me for the bungalow at Cupid Green. I "
    "meet all the criteria.",
    "The nominations team said my medical evidence wasn't enough for a higher band. I disagree.",
    "I've been told I'm not eligible to join the housing register because I've lived in the "
    "area less than two years. That's not fair.",
    "I was refused the flat after the viewing because of my previous tenancy. Who do I appeal to?",
]
ASB = [
    "The people at number {num} have been playing loud music until 3am every night this week. "
    "Can you do something?",
    "I want to report drug dealing in the stairwell of {addr}. There are people there every "
    "evening and the smell of cannabis comes into my flat.",
    "My neighbour shouted abuse at me and my daughter this morning when we were leaving for "
    "school. I'm reporting it so it's on record.",
    "Someone keeps dumping rubbish bags outside my front door. I think it's the man from the flat "
    "opposite.",
    "There were teenagers setting off fireworks in the communal garden last night and one went "
    "through a window.",
    "The dog at number {num} barks all day while the owner is at work and it's been going on "
    "for two weeks. I'd like to report it.",
    "I'm reporting a car that has been parked across the residents' bays for a week with no tax.",
    "My upstairs neighbour is stamping and banging at all hours. I've kept a diary of the dates, "
    "attached.",
    "There's a group of lads hanging around the bin store drinking and being intimidating to "
    "residents, can you look into it?",
    "The man at {num} threatened my son with a knife yesterday. The police have been called "
    "(crime ref {ref}) and I'm letting you know too.",
    "The neighbours are smoking weed on their balcony and it comes straight into my baby's room.",
    "New ASB report: people are using the communal hallway as a toilet. It's been happening "
    "at weekends.",
]
ASB_HANDLING_COMPLAINTS = [
    # Near miss with asb_report: dissatisfaction with how the landlord handled ASB is a complaint.
    "I've reported the noise from number {num} five times since {ago_since} and your ASB team has "
    "done nothing. Nobody even called me back. I'm complaining about how this has been handled.",
    "Your housing officer promised to write to my neighbour about the harassment and never did. "
    "I'm not happy with how you've dealt with my ASB reports.",
    "The drug dealing I reported {ago} is still going on and Thrive haven't even acknowledged my "
    "reports. That's not acceptable.",
    "You closed my ASB case without telling me and without speaking to me. I want to complain.",
    "I was told to fill in noise diaries which I did for six weeks and then heard nothing. I feel "
    "ignored and I want this looked at properly.",
    "Every time I report the dog fouling in the garden I'm told it's been passed on and nothing "
    "happens. I'm fed up with the lack of action.",
    "Your ASB officer {staff} told me to 'just ignore it'. That's not good enough when I'm being "
    "threatened.",
    "I reported the abuse from my neighbour {ago} and was promised a call within 48 hours. No "
    "call, no visit. I'm making a complaint.",
    "I'm unhappy that my report of the threats was shared with the neighbour, who now knows I "
    "complained. You've put me at risk.",
    "The CCTV you said would go up after my ASB reports never appeared. The problems carry on "
    "and I want to complain about the lack of action.",
]
COUNCILLOR_GENERAL = [
    "As ward councillor for Grovehill I'd be grateful for an update on how many homes you have "
    "empty in the ward and the average relet time.",
    "I'm holding a residents' surgery at the community centre on {day} 14th and wondered if a "
    "Thrive officer could attend.",
    "Could you send me a short briefing on Thrive's damp and mould strategy ahead of the "
    "scrutiny committee next month?",
    "On behalf of the MP's office: we are compiling information on social housing repairs "
    "performance across the constituency. Could you share your latest figures?",
    "I'd like to invite Thrive to the Adeyfield regeneration consultation evening. Please let me "
    "know who will attend.",
    "Several residents have mentioned the plans for the Queensway garages site at my ward "
    "meetings. Could you let me know what the plans are?",
    "As the local MP I am writing to all housing associations in the area to ask about your "
    "plans for new affordable homes over the next five years.",
    "I'm writing as county councillor to ask whether Thrive would support a bid for funding for "
    "a community garden on the Longlands estate.",
    "Please could you add me to the distribution list for your tenant newsletter, I'm the new "
    "councillor for Highfield.",
    "Following the council meeting I'd welcome a conversation about how Thrive and the council "
    "can work together on fly-tipping across the ward.",
]
COUNCILLOR_FOR_RESIDENT = [
    # Councillor or MP acting for a named resident about dissatisfaction: a complaint
    # (representative flag), not councillor_mp_general (near miss).
    "I have been contacted by my constituent, {name} of {addr}, who is very unhappy that {problem}. "
    "She reported it {ago} and {failure}. I would be grateful if you would treat this as a "
    "complaint on her behalf and respond to me.",
    "I am writing on behalf of my constituent {name}, {addr}. {Problem} and {failure}. Could "
    "you look into this and let me know what you will do to put it right?",
    "Cllr here. One of my residents, {name} at {addr}, has asked me to raise a complaint: "
    "{problem}, and {failure}. She has given consent for me to act for her.",
    "My constituent {name} has asked me to contact you as {failure} after reporting that "
    "{problem}. I understand this has been going on since {ago_since}. Please treat this as a "
    "formal complaint.",
    "I'm the ward councillor for {name} of {addr}. She tells me {problem} and {failure}. She's at "
    "her wits' end. Please investigate and reply to me and to her.",
    "Re: {name}, {addr}. My constituent is dissatisfied with Thrive's handling of her repairs. "
    "{Problem} and {failure}. I attach her signed consent form.",
    "The office of the MP has been approached by {name}, a tenant of yours at {addr}, who "
    "complains that {problem}, first reported {ago}, and {failure}.",
    "I write as councillor on behalf of Mr {surname} at {addr}, who has authorised me to act. "
    "{Problem}. He has chased repeatedly and {failure}.",
]
FAMILY_REP_INTROS = [
    "I'm writing on behalf of my mum, {name}, who lives at {addr}. She has asked me to contact "
    "you because she finds email difficult.",
    "I am emailing for my dad, {name} ({addr}). He's asked me to deal with this for him.",
    "I'm {first}'s daughter and I'm writing on her behalf, she's given me permission.",
    "I am the support worker for {name} at {addr} and I'm writing on her behalf with her consent.",
    "I'm an advocate for {name}, a tenant at {addr}. She has asked me to raise this on her behalf.",
    "My nan {name} has asked me to write to you on her behalf as she doesn't use the internet.",
    "I'm writing on behalf of my brother {name} at {addr} who has learning difficulties.",
    "This email is on behalf of my elderly neighbour {name} at {addr}, who asked me to help.",
    "I'm a social worker with Herts County Council writing on behalf of my client {name} of "
    "{addr}.",
    "Writing on behalf of my son {name}, he's the tenant at {addr} but works away.",
]
LEASEHOLDER = [
    "Re: Section 20 notice of intention - roof replacement at {addr}. As a leaseholder I wish to "
    "make the following observations: the roof was patched only three years ago and I'd like to "
    "see the surveyor's report before the works go ahead.",
    "Thank you for the notice of intention for the window replacement programme. I'd like to "
    "nominate a contractor, Hemel Glazing Ltd, for the tender.",
    "Observations on the proposed major works at {addr}: the estimate for scaffolding seems very "
    "high compared with similar blocks. Please could this be reviewed.",
    "In response to your stage two consultation notice (notice of estimates) for the lift "
    "refurbishment, I don't think the cheapest estimate has been chosen.",
    "I'm a leaseholder at {addr} and have received the section 20 consultation. My comments: "
    "the communal door entry system is only 5 years old and doesn't need replacing.",
    "Responding to the consultation on the proposed external redecoration. As leaseholders we "
    "would prefer the work to be phased over two years to spread the cost.",
    "Please log my observations on the notice of proposal for the long-term agreement for "
    "communal cleaning. I'd like the specification to include window cleaning.",
    "Section 20 notice for the fire door replacement: could you tell me how the costs will be "
    "apportioned between the flats, and I'd like to see the specification.",
    "We've had the notice of intention about the cladding survey works. My observation is that "
    "leaseholders should not pay for this under the Building Safety Act.",
    "As leaseholder of Flat {flat} I'm responding within the 30 day consultation period on the "
    "planned works. Please consider using the existing contractor.",
]
TRIBUNAL = [
    "I have applied to the First-tier Tribunal (Property Chamber) to challenge the reasonableness "
    "of the service charges for 2023/24. Tribunal reference {ref}.",
    "Please be aware that my appeal against the possession order is being heard next month. "
    "I'm appealing the judge's decision.",
    "I've submitted an application to the First Tier Tribunal about the rent increase notice. "
    "They have given me a case reference.",
    "Our leaseholders' association has referred the major works charges to the tribunal. The "
    "hearing is in {month}.",
    "I'm appealing the court's decision on the possession order. My solicitor has lodged the appeal "
    "with the higher court.",
    "The tribunal hearing about my service charge dispute is set for {date}. Can you confirm "
    "who from Thrive will attend?",
    "I have made an application to the First-tier Tribunal to determine my liability to pay "
    "the administration charges.",
    "Just to let you know I've appealed to the tribunal against the housing benefit decision and "
    "need a letter from you confirming my rent.",
    "The Upper Tribunal has given permission to appeal in my service charge case. Please send "
    "the documents to my representative.",
    "My application to the tribunal (Property Chamber) about the ground rent is in. Reference "
    "{ref}.",
]
POLICY = [
    "I think your policy of not allowing dogs in flats is unfair and should be changed. Lots of "
    "responsible owners would love a pet.",
    "I don't agree with Thrive's decision to stop sending paper rent statements. Not everyone "
    "is online.",
    "Your rule that tenants have to pay for replacement keys is wrong in my opinion. Please "
    "review the policy.",
    "I object to the new policy that you no longer decorate when you do major works. It should be "
    "part of the service.",
    "The Thrive Deal expects too much from tenants. I don't think the 'ask' part is fair and "
    "would like you to reconsider it.",
    "I disagree with your policy of only allowing one parking permit per household. Families "
    "need two cars these days.",
    "Why is it your policy to ban satellite dishes on the front of houses? I think it should be "
    "allowed.",
    "Your policy on not doing garden maintenance for tenants is out of date. Many of us are "
    "older and can't manage.",
    "I want to register my disagreement with the new rent setting policy. Rents are too high "
    "for working families.",
    "I'm not happy with the policy that you only do repairs between 8 and 4. Some of us work. "
    "Please consider evening appointments as policy.",
]
SURVEY = [
    "Survey response\nHow satisfied are you with your recent repair? 2 - Dissatisfied\nComments: "
    "took three visits to fix a tap\nWould you recommend Thrive? No",
    "Feedback form\nRepair job {ref}\nRating: 3/10\nWhat could we do better? Turn up on time.",
    "Re: How did we do? Tell us about your recent visit\n\nIt was ok I suppose but the man was "
    "late. 6 out of 10.",
    "Tenant satisfaction survey\nQ1 Overall satisfaction: Fairly dissatisfied\nQ2 Repairs: Very "
    "dissatisfied\nQ3 Any comments: the repairs take too long",
    "Customer feedback: 1 star. Comments: had to wait in all day.",
    "In answer to your survey question, no I was not happy with the cleaning of the communal "
    "areas this quarter. 4/10.",
    "STAR survey - comments box: Communication could be better, I never know what's happening.",
    "Replying to your text survey: score 5. Engineer was polite but didn't have parts.",
    "Survey: how likely are you to recommend us? 0. Reason: repairs are slow.",
    "Post-visit survey\nWas the operative polite? Yes\nWas the job completed first time? No\n"
    "Score: 4\nComments: needs another visit",
]
STATUTORY = [
    "Please find attached an Improvement Notice served under section 11 of the Housing Act 2004 "
    "in respect of {addr}, relating to Category 1 hazards (damp and mould growth).",
    "Environmental Health: we have served a Hazard Awareness Notice on Thrive Homes regarding "
    "excess cold at {addr}. Details are enclosed.",
    "This is formal notification that an abatement notice under the Environmental Protection Act "
    "1990 has been issued regarding the drainage at {addr}.",
    "Following our inspection under the HHSRS, the council has issued a Prohibition Order for "
    "the basement flat at {addr}. The order is attached.",
    "Private Sector Housing Team: an Improvement Notice has been served regarding fire safety "
    "hazards in the common parts of {addr}.",
    "Notice under the Housing Act 2004: the council intends to take emergency remedial action at "
    "{addr} because of a Category 1 electrical hazard.",
    "Dacorum Borough Council Environmental Health - suspended improvement notice relating to "
    "{addr}, please see the schedule of works required.",
    "Please see attached a section 80 notice (statutory nuisance) served on the landlord in "
    "respect of the blocked drains at {addr}.",
    "We write to inform you that a Hazard Awareness Notice has been served for {addr} following "
    "an HHSRS assessment (falls on stairs).",
    "Environmental Health have served an improvement notice on Thrive about the damp at my flat, "
    "they said to forward it to you. Copy attached.",
]
NOT_LANDLORD = [
    "My council tax bill has gone up and I think I've been put in the wrong band. Can you sort it?",
    "The street light on the main road outside the shops has been out for a week.",
    "My bins weren't collected on Tuesday again, the council lorry just drove past.",
    "I rent privately from a landlord on Piccadilly Road and he won't fix my boiler. Can Thrive "
    "help?",
    "My Universal Credit payment was less than usual this month, why has it been reduced?",
    "There's a huge pothole on the road at the junction of Kings Road and High Street.",
    "My broadband keeps dropping out, is there a problem in the area?",
    "The bus stop outside Elm Court has been vandalised, who do I report it to?",
    "My neighbour who owns their house has a tree overhanging my mum's private garden, she's not "
    "a Thrive tenant. What can be done?",
    "I got a parking ticket on the public road outside my house, I want to appeal.",
    "Can you tell me why my doctor's surgery has closed its waiting list?",
    "My parcel was delivered to the wrong house and the courier won't help.",
]
AUTO_REPLY = [
    "Thank you for your email. I am out of the office until {date} with limited access to email. "
    "For urgent matters please contact the office on 01442 000000.",
    "I'm currently on annual leave, returning on {day}. I will respond to your email on my return.",
    "This is an automated response. Your message has been received and someone will get back to "
    "you within 3 working days.",
    "Out of office: I am away until {date}. Please contact my colleague if your query is urgent.",
    "Thanks for your message. I no longer work at this organisation, please redirect your email.",
    "Automatic reply: I am on maternity leave. Please contact the team inbox instead.",
    "I'm away from my desk until {day}. I'll reply as soon as I can.",
    "Thank you for contacting Herts Advocacy. This mailbox is monitored Monday to Friday 9-5.",
    "Your email has been received by the Dacorum Borough Council contact centre. Reference {ref}.",
    "Hello, I'm on holiday with no access to emails until {date}. Thanks.",
]
BOUNCE = [
    "Delivery has failed to these recipients or groups:\n{addr_email}\nThe email address you "
    "entered couldn't be found.",
    "This is the mail system at host mx.example.net.\n\nI'm sorry to have to inform you that your "
    "message could not be delivered to one or more recipients.\n\n<{addr_email}>: mailbox full",
    "Undeliverable: Your complaint acknowledgement\n\nYour message to {addr_email} couldn't be "
    "delivered. The recipient's mailbox is full and can't accept messages now.",
    "Mail delivery failed: returning message to sender\n\nA message that you sent could not be "
    "delivered to one or more of its recipients. This is a permanent error.\n  {addr_email}\n    "
    "host mx.gmail.com: 550 5.1.1 User unknown",
    "Delivery Status Notification (Failure)\n\nAddress not found. Your message wasn't delivered to "
    "{addr_email} because the address couldn't be found.",
    "Message not delivered. There was a problem delivering your message to {addr_email}. Remote "
    "server returned '554 5.7.1 rejected by policy'.",
    "Returned mail: see transcript for details\n\n----- The following addresses had permanent "
    "fatal errors -----\n<{addr_email}>",
    "Delivery incomplete. There was a temporary problem delivering your message to {addr_email}. "
    "Gmail will retry for 45 more hours.",
]
BULK = [
    "Housing Today weekly: the latest news on regulation, the Decent Homes Standard and more. "
    "Read online. Unsubscribe from this list.",
    "Join our free webinar: Damp and mould - getting it right under Awaab's Law. Book your place "
    "now. You are receiving this because you subscribed.",
    "Screwfix Trade: this week's offers on boilers, radiators and plumbing supplies. Manage your "
    "preferences or unsubscribe.",
    "NHF members' bulletin: consultation responses, events and the new governance code. To stop "
    "receiving these emails click here.",
    "Dear Colleague, the Tenant Participation Advisory Service annual conference is open for "
    "booking. Early bird rates end Friday.",
    "Your monthly newsletter from Hertfordshire Community Foundation: grants now open for local "
    "groups. Unsubscribe.",
    "Inside Housing Daily: top stories today. Update your email preferences.",
    "Training update: new CIH courses on complaint handling. View in browser. Unsubscribe.",
]
SPAM = [
    "Congratulations! You have been selected to receive a £500 Tesco voucher. Click here to "
    "claim your reward before it expires.",
    "Your mailbox storage is full. Verify your account within 24 hours or your email will be "
    "suspended: http://secure-mail-verify.example",
    "We can get your website to the first page of Google. Affordable SEO packages for housing "
    "associations. Reply YES for a free audit.",
    "Invoice #48213 is overdue. Please find the attached payment instructions and settle "
    "immediately to avoid legal action.",
    "Hi dear, I am a widow with a large inheritance and I need a trusted partner to help move the "
    "funds. You will receive 30%.",
    "Earn £3,000 a week from home trading crypto! Our AI system does all the work.",
    "Your parcel could not be delivered. Pay the £1.99 redelivery fee here.",
    "HMRC: you are due a tax refund of £312.50. Submit your bank details to receive it.",
    "Cheap Ray-Ban sunglasses 80% off, limited time only!!!",
    "Lowest price on medication without prescription. Discreet delivery.",
    "Dear Sir, we are a leading supplier of PPE and cleaning chemicals from China, best price.",
    "Your Microsoft 365 password expires today. Keep your current password here.",
]

# --- limited English (hand-written rewrites) -----------------------------------------------------

LIMITED_ENGLISH = {
    "complaint": [
        "Hello. I am tell you 3 time about window broken, nobody come. My children is cold. I am "
        "not happy please help.",
        "sorry my english not good. water coming from roof since 2 month, I call many time, no "
        "one fix. this is not ok",
        "Please I want complain. The man come for fix toilet but he not fix and go. Now still "
        "broken 3 week.",
        "My home have mould very bad, I tell you before, you send man he paint only. Mould come "
        "back. My baby sick. Why nobody help?",
        "I am waiting 6 week for boiler, no hot water, I call, they say wait wait. I am very angry.",
        "Hi, the worker from Thrive he shout at me and my wife. It is not respect. I want speak "
        "to manager.",
        "i ask many time for fix door, you say next week, next week, never come. not good service",
        "Good morning. The heating not working long time. I report in January, still nobody come. "
        "Please what I do?",
        "you take money from my account two time this month for rent. I ask back but nobody "
        "answer me. please return",
        "Hello sir, my kitchen have water on floor from pipe, I report 1 month ago, engineer "
        "never come. I am sad and tired.",
        "Dear, I am not happy with the cleaning, stairs very dirty for long time, we pay service "
        "charge but nobody clean.",
        "please help me, the appointment you give I stay home all day, nobody come, I lose my "
        "work day. second time this happen.",
    ],
    "service_request": [
        "Hello, my toilet is broken, water everywhere. Please send man to fix. Thank you.",
        "hi please my light in kitchen not working, can someone come. thanks",
        "Good day, the door of my flat is not close good. Can you fix please.",
        "Hello I need help, the shower is not hot. Please send someone.",
        "please i want to pay rent by card how can i do this",
        "Hi, the window in bedroom is broken glass, my son play football. Please repair.",
        "Hello, there is small mice in kitchen. What I do? Please help",
        "sorry my english. the tap in bathroom drip drip all night. please can fix",
        "I need new key for main door, I lose it. How I can get?",
        "Hello the boiler show error code. Please engineer come check. Thank you very much.",
    ],
    "asb_report": [
        "Hello, the neighbour upstairs make very loud music every night, I cannot sleep. Please "
        "talk to him.",
        "men smoking drugs on stairs every evening, I am scared for my children. I report this.",
        "the people next door throw rubbish in my garden, I want report this please",
    ],
    "lettings_decision": [
        "Hello, I am on the list for house 3 year, council say band C. I have 4 children in 1 "
        "bedroom. Why not higher band?",
        "I bid for the flat but they give to other family. Why? I wait longer.",
    ],
    "not_landlord_matter": [
        "hello my council tax is wrong they take too much money, please help me",
        "the street lamp outside on road is broken, very dark",
    ],
}

# --- wrappers ------------------------------------------------------------------------------------

LANDLORD_QUOTED = [
    "Dear {first},\n\nThank you for contacting Thrive Homes. We have raised a repair for you "
    "(job {ref}) and our contractor will be in touch to arrange an appointment. If you are unhappy "
    "with our service you can make a complaint at thrivehomes.org.uk/complaints.\n\nKind regards\n"
    "Repairs Team\nThrive Homes",
    "Hello {first},\n\nWe are sorry to hear about the problem. Your repair has been booked for "
    "{day} between 8am and 1pm. Please ensure someone over 18 is at home.\n\nThrive Homes "
    "Customer Services",
    "Dear Customer,\n\nThis is to confirm that your repair (ref {ref}) has now been completed. If "
    "you are not satisfied with the work please let us know within 7 days.\n\nThrive Homes",
    "Dear {first},\n\nThank you for your complaint. We have logged it at stage 1 under reference "
    "{ref} and will respond within 10 working days. The Housing Ombudsman can be contacted on "
    "0300 111 3000.\n\nComplaints Team",
    "Hi {first},\n\nI've passed your query on to the relevant team and someone will get back to "
    "you shortly. Kind regards, {staff}, Customer Services",
    "Dear Resident,\n\nWe will be carrying out damp and mould inspections in your area over the "
    "coming weeks. Our surveyor will contact you to arrange a visit.\n\nAsset Management Team",
]
FORWARD_NOTES = {
    "complaint": [
        "See below. This was weeks ago and still nothing has happened.",
        "Forwarding this as nobody has turned up. I'm not happy.",
        "Your email below says the job is done. It isn't. Nobody came.",
        "Read your own email below. Three weeks later and no contact.",
        "Sending this again because I've had no reply and I'm fed up waiting.",
    ],
    "service_request": [
        "Hi, see below, can I also report that the bathroom fan has stopped working? Thanks",
        "Thanks for this. Could you also look at the kitchen window while you're here?",
        "Forwarding for reference - can you change the appointment to a morning please?",
        "Please see below. I also need a new key fob for the bin store please.",
        "Thanks. One more thing - the front gate latch is broken, could that be added?",
    ],
}
WEBFORM_COMPLAINT = (
    "Online complaint form\n"
    "Name: {name}\n"
    "Address: {addr}\n"
    "Tenancy reference: {tref}\n"
    "Preferred contact: {contact}\n"
    "What is your complaint about?: {issue}\n"
    "When did the problem start?: {started}\n"
    "Who have you spoken to?: {staffline}\n"
    "What outcome would you like?: {outcome}\n"
    "Submitted: {date}"
)
WEBFORM_GENERAL = (
    "Contact us form submission\n"
    "Name: {name}\n"
    "Email: {email}\n"
    "Phone: 07{phone}\n"
    "Address: {addr}\n"
    "Enquiry type: {etype}\n"
    "Message: {message}"
)
WEBFORM_ENQUIRY_TYPES = ["General enquiry", "Repairs", "Other", "Feedback", "Rent", "Complaint"]
