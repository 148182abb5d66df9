// src/inputs.tsx — the form input of one column, by its type: checkboxes, number fields,
// date and date-time pickers, selects for choices, an autocomplete over /T/ids/?search= for a
// foreign key, a password field for a secret column (write-only: empty means unchanged), text
// lists for arrays, JSON text for json columns. Required columns are marked and checked.
import { useRef } from "react";
import {
    AutocompleteInput, BooleanInput, DateInput, DateTimeInput, NumberInput, PasswordInput,
    ReferenceInput, SelectInput, TextArrayInput, TextInput, maxLength, required,
} from "react-admin";
import type { Column, Table } from "./schema";

function parseJson(text: string): any {
    if (text === "" || text === undefined) return null;
    try {
        return JSON.parse(text);
    } catch {
        return text; // sent as a JSON string; the user sees it come back as one
    }
}

function jsonText(value: any): string {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
}

/* A json column as JSON text; the form's value is what the text means (parseJson). The box
 * keeps the text as typed while it still means the form's value: re-serialising it at every
 * keystroke would turn "null" into an empty box, '"x"' into x and move the cursor. */
function JsonInput(props: Record<string, any> & { source: string }) {
    const typed = useRef<string | undefined>(undefined);
    const format = (value: any) => (typed.current !== undefined &&
        JSON.stringify(parseJson(typed.current)) === JSON.stringify(value ?? null)
        ? typed.current : jsonText(value));
    const parse = (text: string) => {
        typed.current = text;
        return parseJson(text);
    };
    return <TextInput {...props} multiline format={format} parse={parse} />;
}

/* The inputs forms and filters share: a select for choices, a checkbox, a number, a date;
 * null for other columns. */
export function simpleInput(column: Column, props: Record<string, any> & { source: string }) {
    if (column.choices?.length)
        return <SelectInput {...props} choices={column.choices.map((c) => ({ id: c, name: c }))}
                            emptyText={column.nullable ? "(none)" : undefined} />;
    switch (column.kind) {
    case "boolean":
        return <BooleanInput {...props} />;
    case "integer":
    case "number":
        return <NumberInput {...props} />;
    case "date":
        return <DateInput {...props} />;
    default:
        return null;
    }
}

/* A foreign key: an autocomplete over the referenced table's /T/ids/?search= (the data
 * provider turns filter.__search into that request), showing its readable column. */
export function foreignKeyInput(column: Column, tables: Table[], props: Record<string, any> = {}) {
    const target = tables.find((t) => t.name === column.references);
    return (
        <ReferenceInput source={column.name} reference={column.references!} key={column.name}
                        label={column.title}>
            <AutocompleteInput label={column.title} {...props}
                               optionText={target?.readable ?? target?.primaryKey ?? "id"}
                               filterToQuery={(search: string) => ({ __search: search })} />
        </ReferenceInput>
    );
}

export function columnInput(column: Column, tables: Table[], mode: "create" | "edit") {
    const validate = [];
    if (column.required) validate.push(required());
    if (column.maxLength) validate.push(maxLength(column.maxLength));
    const props = { source: column.name, label: column.title, key: column.name, validate,
                    fullWidth: true, helperText: false as const };
    if (column.readOnly) return mode === "edit" ? <TextInput {...props} disabled /> : null;
    if (column.secret)
        return <PasswordInput {...props} autoComplete="new-password"
                              helperText={mode === "edit" ? "write-only: leave empty to keep" : false} />;
    if (column.references)
        return foreignKeyInput(column, tables, { validate, fullWidth: true, helperText: false });
    const simple = simpleInput(column, props);
    if (simple) return simple;
    switch (column.kind) {
    case "datetime":
        return <DateTimeInput {...props}
                              parse={(v: string) => (v ? new Date(v).toISOString() : null)} />;
    case "array":
        if (column.itemKind === "text" || column.itemKind === "email")
            return <TextArrayInput {...props} />;
        return <TextInput {...props} helperText="comma-separated"
                          format={(v: any[] | null) => (v ?? []).join(", ")}
                          parse={(text: string) => text.split(",").map((s) => s.trim())
                              .filter(Boolean).map((s) => (column.itemKind === "integer" ||
                                  column.itemKind === "number" ? Number(s) : s))} />;
    case "json":
        return <JsonInput {...props} />;
    default:
        return <TextInput {...props} parse={(v: string) => (v === "" && column.nullable ? null : v)} />;
    }
}
