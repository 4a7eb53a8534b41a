"""Small graphs that are not the Factbook, written here so every test builds its own in milliseconds."""

from __future__ import annotations

FILMS = """\
@prefix ex: <http://example.org/film/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

ex:Work a owl:Class ; rdfs:label "work" .
ex:Film a owl:Class ; rdfs:subClassOf ex:Work ; rdfs:label "film" .
ex:Person a owl:Class ; rdfs:label "person" .
ex:Award a owl:Class ; rdfs:label "award" .
ex:Genre a owl:Class ; rdfs:label "genre" .
ex:City a owl:Class ; rdfs:label "city" .

ex:director rdfs:label "director" ; rdfs:comment "the person who directed the film" .
ex:starring rdfs:label "starring" ; rdfs:comment "an actor who stars in the film" .
ex:runtime rdfs:comment "running time in minutes" .
ex:wonAward rdfs:comment "an award the film won" .
ex:subgenreOf a owl:TransitiveProperty ; rdfs:label "subgenre of" .
# ex:releaseDate, ex:bornIn and ex:birthDate have no label: their local names are read
# ex:composedMusicFor points from a person to a film: questions only ever ask it backwards

ex:alien a ex:Film ; rdfs:label "Alien" ; ex:director ex:scott ; ex:starring ex:weaver, ex:hurt ;
    ex:runtime 117 ; ex:releaseDate "1979-05-25"^^xsd:date ; ex:genre ex:space_horror .
ex:blade_runner a ex:Film ; rdfs:label "Blade Runner" ; ex:director ex:scott ; ex:starring ex:ford ;
    ex:runtime 118 ; ex:releaseDate "1982-06-25"^^xsd:date .
ex:gladiator a ex:Film ; rdfs:label "Gladiator" ; ex:director ex:scott ; ex:starring ex:crowe ;
    ex:runtime 155 ; ex:releaseDate "2000-05-05"^^xsd:date ; ex:wonAward ex:best_picture, ex:best_actor .
ex:terminator a ex:Film ; rdfs:label "The Terminator" ; ex:director ex:cameron ;
    ex:runtime 107 ; ex:releaseDate "1984-10-26"^^xsd:date .
ex:titanic a ex:Film ; rdfs:label "Titanic" ; ex:director ex:cameron ; ex:starring ex:winslet ;
    ex:runtime 195 ; ex:releaseDate "1997-12-19"^^xsd:date ; ex:wonAward ex:best_picture .

ex:scott a ex:Person ; rdfs:label "Ridley Scott" ; ex:bornIn ex:south_shields ; ex:birthDate "1937-11-30"^^xsd:date .
ex:cameron a ex:Person ; rdfs:label "James Cameron" ; ex:bornIn ex:kapuskasing ; ex:birthDate "1954-08-16"^^xsd:date .
ex:weaver a ex:Person ; rdfs:label "Sigourney Weaver" .
ex:hurt a ex:Person ; rdfs:label "John Hurt" .
ex:ford a ex:Person ; rdfs:label "Harrison Ford" .
ex:crowe a ex:Person ; rdfs:label "Russell Crowe" .
ex:winslet a ex:Person ; rdfs:label "Kate Winslet" .
ex:goldsmith a ex:Person ; rdfs:label "Jerry Goldsmith" ; ex:composedMusicFor ex:alien .
ex:vangelis a ex:Person ; rdfs:label "Vangelis" ; ex:composedMusicFor ex:blade_runner .
ex:zimmer a ex:Person ; rdfs:label "Hans Zimmer" ; ex:composedMusicFor ex:gladiator .
ex:horner a ex:Person ; rdfs:label "James Horner" ; ex:composedMusicFor ex:titanic .
ex:best_picture a ex:Award ; rdfs:label "Best Picture" .
ex:best_actor a ex:Award ; rdfs:label "Best Actor" .
ex:south_shields a ex:City ; rdfs:label "South Shields" .
ex:kapuskasing a ex:City ; rdfs:label "Kapuskasing" .
ex:space_horror a ex:Genre ; rdfs:label "space horror" ; ex:subgenreOf ex:scifi_horror .
ex:scifi_horror a ex:Genre ; rdfs:label "science fiction horror" ; ex:subgenreOf ex:horror .
ex:horror a ex:Genre ; rdfs:label "horror" .
ex:comedy a ex:Genre ; rdfs:label "comedy" .
"""

# (question, answer text): every question shape on the films graph
FILM_QUESTIONS = [
    ("Who directed Alien?", "Ridley Scott", "single_hop"),
    ("What is the runtime of Gladiator?", "155", "single_hop"),
    ("When was Titanic released?", "19 December 1997", "single_hop"),
    ("When was Ridley Scott born?", "30 November 1937", "single_hop"),
    ("Who composed the music for Blade Runner?", "Vangelis", "inverse"),
    ("Which films did Ridley Scott direct?", "Alien, Blade Runner, Gladiator", "inverse"),
    ("Which awards did Gladiator win?", "Best Actor, Best Picture", "list"),
    ("How many films did Ridley Scott direct?", "3", "count"),
    ("How many awards did Gladiator win?", "2", "count"),
    ("Did Ridley Scott direct Alien?", "yes", "boolean"),
    ("Did James Cameron direct Alien?", "no", "boolean"),
    ("Which has the longer runtime, Alien or Titanic?", "Titanic", "comparison"),
    ("Which was released earlier, Alien or Titanic?", "Alien", "comparison"),
    ("Which film has the longest runtime?", "Titanic", "superlative"),
    ("Which film was released first?", "Alien", "superlative"),
    ("When was the film with Sigourney Weaver released?", "25 May 1979", "two_hop"),
    ("Is space horror a kind of horror?", "yes", "boolean"),
    ("Is space horror a kind of comedy?", "no", "boolean"),
]

OUT_OF_GRAPH = ["Who wrote Hamlet?", "What is the favourite food of Ridley Scott?", "What is the capital of Peru?",
                "How many moons does Jupiter have?"]

WIKIDATA = """\
@prefix wd: <http://www.wikidata.org/entity/> .
@prefix wdt: <http://www.wikidata.org/prop/direct/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <http://schema.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

wdt:P57 rdfs:label "director"@en, "réalisateur"@fr .
wdt:P161 rdfs:label "cast member"@en .
wdt:P86 rdfs:label "composer"@en .
wdt:P577 rdfs:label "publication date"@en .
wdt:P2047 rdfs:label "duration"@en ; rdfs:comment "length of a film in minutes"@en .
wdt:P19 rdfs:label "place of birth"@en .
wdt:P166 rdfs:label "award received"@en .
wdt:P279 rdfs:label "subclass of"@en .

wd:Q103474 schema:name "2001: A Space Odyssey"@en, "2001 : l'Odyssée de l'espace"@fr ;
    wdt:P57 wd:Q2001 ; wdt:P86 wd:Q1 ; wdt:P577 "1968-04-02"^^xsd:date ; wdt:P2047 "149"^^xsd:decimal .
wd:Q186341 schema:name "The Shining"@en, "Shining"@fr ; wdt:P57 wd:Q2001 ; wdt:P161 wd:Q40026 ;
    wdt:P577 "1980-05-23"^^xsd:date ; wdt:P2047 "146"^^xsd:decimal .
wd:Q172241 schema:name "Jaws"@en, "Les Dents de la mer"@fr ; wdt:P57 wd:Q8877 ; wdt:P86 wd:Q131285 ;
    wdt:P577 "1975-06-20"^^xsd:date ; wdt:P2047 "124"^^xsd:decimal ; wdt:P166 wd:Q488651 .
wd:Q2001 schema:name "Stanley Kubrick"@en ; wdt:P19 wd:Q60 .
wd:Q8877 schema:name "Steven Spielberg"@en ; wdt:P19 wd:Q43196 .
wd:Q40026 schema:name "Jack Nicholson"@en .
wd:Q1 schema:name "Richard Strauss"@en .
wd:Q131285 schema:name "John Williams"@en .
wd:Q60 schema:name "New York City"@en, "New York"@fr .
wd:Q43196 schema:name "Cincinnati"@en .
wd:Q488651 schema:name "Academy Award for Best Original Score"@en .
wd:Q11424 schema:name "film"@en ; wdt:P279 wd:Q2431196 .
wd:Q2431196 schema:name "audiovisual work"@en ; wdt:P279 wd:Q386724 .
wd:Q386724 schema:name "work"@en .
wd:Q7889 schema:name "video game"@en ; wdt:P279 wd:Q386724 .
"""

WIKIDATA_PROFILE = {"transitive": ["http://www.wikidata.org/prop/direct/P279"]}

WIKIDATA_QUESTIONS = [
    ("Who directed 2001: A Space Odyssey?", "Stanley Kubrick", "single_hop"),
    ("Who composed the music for Jaws?", "John Williams", "single_hop"),
    ("What is the duration of The Shining?", "146", "single_hop"),
    ("When was Jaws published?", "20 June 1975", "single_hop"),
    ("Which films did Stanley Kubrick direct?", "2001: A Space Odyssey, The Shining", "inverse"),
    ("Who is a cast member of The Shining?", "Jack Nicholson", "single_hop"),
    ("How many films did Stanley Kubrick direct?", "2", "count"),
    ("Did Steven Spielberg direct Jaws?", "yes", "boolean"),
    ("Did Steven Spielberg direct The Shining?", "no", "boolean"),
    ("Which has the longer duration, Jaws or The Shining?", "The Shining", "comparison"),
    ("What is the place of birth of the director of Jaws?", "Cincinnati", "two_hop"),
    ("Is a film a subclass of work?", "yes", "boolean"),
    ("Is a video game a subclass of audiovisual work?", "no", "boolean"),
]
