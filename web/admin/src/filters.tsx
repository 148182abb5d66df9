// src/filters.tsx — the list's filters, generated per filterable column: a value input of the
// column's type (the API's col=value), its operator (col__operator: =, ≠, <, ≤, >, ≥, is
// empty, is not empty) and, for text columns, its match mode (col__match). react-admin's "Add
// filter" button offers each of them by name.
import { SelectInput, TextInput } from "react-admin";
import { foreignKeyInput, simpleInput } from "./inputs";
import type { Filter, Table } from "./schema";

const operatorNames: Record<string, string> = {
    e: "= (equals / matches)", ne: "≠ (not equal)", lt: "<", lte: "≤", gt: ">", gte: "≥",
    is_null: "is empty (null)", not_null: "is not empty",
};

function valueInput(filter: Filter, tables: Table[]) {
    const column = filter.column;
    const props = { source: column.name, label: column.title, key: column.name };
    if (column.references) return foreignKeyInput(column, tables);
    return simpleInput(column, props) ?? <TextInput {...props} />;
}

export function tableFilters(table: Table, tables: Table[]) {
    const inputs = [];
    for (const filter of table.filters) {
        const { name, title } = filter.column;
        inputs.push(valueInput(filter, tables));
        if (filter.operators.length)
            inputs.push(<SelectInput source={`${name}__operator`} label={`${title} operator`}
                                     key={`${name}__operator`}
                                     choices={filter.operators.map((o) => ({
                                         id: o, name: operatorNames[o] ?? o }))} />);
        if (filter.matchModes.length)
            inputs.push(<SelectInput source={`${name}__match`} label={`${title} match`}
                                     key={`${name}__match`}
                                     choices={filter.matchModes.map((m) => ({ id: m, name: m }))} />);
    }
    return inputs;
}
